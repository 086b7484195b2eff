"""The circuit breaker and the provider chain, with providers that answer as
told and a clock the test moves."""

import asyncio

import pytest

from clarion.domain.delivery import Outcome, OutgoingMessage, SendResult
from clarion.domain.enums import Channel
from clarion.services.channels import ChannelRoute, Circuit, CircuitBreaker, Guarded
from tests.support.outgoing import outgoing


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Scripted:
    """A provider answering with `result`, after `delay` seconds."""

    def __init__(self, name: str, result: SendResult, delay: float = 0.0) -> None:
        self.name = name
        self.result = result
        self.delay = delay
        self.calls = 0

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.result


def message() -> OutgoingMessage:
    return outgoing(Channel.EMAIL, "a@example.com", {"subject": "Hi", "body": "Hello"})


def failing(name: str) -> Scripted:
    return Scripted(name, SendResult.retry(name, f"{name}: 503", provider_fault=True))


def guarded(provider: Scripted, breaker: CircuitBreaker | None) -> Guarded:
    return Guarded(provider, breaker, asyncio.Semaphore(10))


async def test_faults_open_the_circuit_and_the_next_provider_takes_the_mail() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, cooldown=30, clock=clock)
    primary, backup = failing("primary"), Scripted("backup", SendResult.sent("backup", "m"))
    route = ChannelRoute([guarded(primary, breaker), guarded(backup, None)])
    results = [await route.send(message()) for _ in range(6)]
    assert {r.provider for r in results} == {"backup"}
    assert primary.calls == 3  # then skipped while open
    assert breaker.state is Circuit.OPEN

    clock.now += 30  # the cooldown passed: one probe, which succeeds
    primary.result = SendResult.sent("primary", "p")
    assert (await route.send(message())).provider == "primary"
    assert breaker.state is Circuit.CLOSED


async def test_while_a_probe_is_out_turned_away_mail_waits_a_whole_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, cooldown=30, clock=clock)
    slow = failing("slow")
    slow.delay = 0.2
    route = ChannelRoute([guarded(slow, breaker)])
    await route.send(message())  # opens it
    clock.now += 30
    probe = asyncio.create_task(route.send(message()))
    await asyncio.sleep(0.05)  # the probe is out
    turned_away = await route.send(message())
    await probe
    assert turned_away.outcome is Outcome.RETRY
    assert turned_away.retry_after == 30  # not 0: the probe may take a whole timeout


async def test_a_cancelled_probe_does_not_leave_the_circuit_stuck() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, cooldown=30, clock=clock)
    hanging = failing("hanging")
    route = ChannelRoute([guarded(hanging, breaker)])
    await route.send(message())
    clock.now += 30
    hanging.delay = 10
    probe = asyncio.create_task(route.send(message()))
    await asyncio.sleep(0.05)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    clock.now += 30  # after another cooldown a new probe is let through
    hanging.delay = 0
    hanging.result = SendResult.sent("hanging", "h")
    assert (await route.send(message())).outcome is Outcome.SENT
    assert breaker.state is Circuit.CLOSED


async def test_without_a_breaker_one_receivers_trouble_never_blocks_the_next() -> None:
    """The webhook route: a receiver that times out is retried, not blamed on
    the channel, and the following messages are still sent."""
    slow = Scripted("webhook", SendResult.sent("webhook", None), delay=0.3)
    route = ChannelRoute([guarded(slow, None)], timeout=0.05)
    results = [await route.send(message()) for _ in range(8)]
    assert {r.outcome for r in results} == {Outcome.RETRY}
    assert not any(r.provider_fault for r in results)
    assert slow.calls == 8
