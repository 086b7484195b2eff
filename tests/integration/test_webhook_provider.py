"""The webhook provider resolves a host name once, checks every address it got,
and sends to the address it checked, with the name kept in the Host header.

The resolver is the event loop's `getaddrinfo`; these tests answer for it, so
a name can resolve to loopback, to a mix, or fail for a while, without DNS."""

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clarion.adapters.providers.webhook import WebhookProvider
from clarion.domain.delivery import Outcome, OutgoingMessage, SendResult
from clarion.domain.enums import Channel
from clarion.domain.webhooks import AddressPolicy
from tests.support.fake_server import serve_in_thread
from tests.support.outgoing import outgoing

NAME = "hooks.example.test"


@pytest.fixture
def receiver() -> Iterator[tuple[list[str], int]]:
    """A receiver on loopback; yields the Host headers it saw and its port."""
    seen: list[str] = []

    async def hook(request: Request) -> Response:
        seen.append(request.headers["host"])
        return Response(status_code=204)

    with serve_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        yield seen, int(url.rsplit(":", 1)[1])


def answering(monkeypatch: pytest.MonkeyPatch, *answers: Any) -> list[str]:
    """The loop's resolver answers NAME with each of `answers` in turn (a list of
    addresses, or an exception to raise); returns the names it was asked."""
    asked: list[str] = []
    queue = list(answers)
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def resolve(host: str, port: Any, **kwargs: Any) -> Any:
        if host != NAME:
            return await real(host, port, **kwargs)
        asked.append(host)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, BaseException):
            raise answer
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answer]

    monkeypatch.setattr(loop, "getaddrinfo", resolve)
    return asked


def to(url: str) -> OutgoingMessage:
    return outgoing(Channel.WEBHOOK, url, {"url": url, "data": {}})


async def send(policy: AddressPolicy, url: str) -> SendResult:
    provider = WebhookProvider(secret=b"k", policy=policy)
    try:
        return await provider.send(to(url))
    finally:
        await provider.close()


async def test_the_request_goes_to_the_checked_address_under_its_name(
    receiver: tuple[list[str], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name resolves only through the resolver the provider asks once; had
    the HTTP client looked the name up again, it would not have found it."""
    seen, port = receiver
    asked = answering(monkeypatch, ["127.0.0.1"])
    sent = await send(AddressPolicy([NAME]), f"http://{NAME}:{port}/hook")
    assert sent.outcome is Outcome.SENT
    assert asked == [NAME]
    assert seen == [f"{NAME}:{port}"]


async def test_a_name_with_any_internal_address_is_refused(
    receiver: tuple[list[str], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen, port = receiver
    answering(monkeypatch, ["93.184.216.34", "127.0.0.1"])
    refused = await send(AddressPolicy(), f"http://{NAME}:{port}/hook")
    assert refused.outcome is Outcome.PERMANENT
    assert "loopback" in (refused.error or "")
    assert seen == []


async def test_a_resolver_that_cannot_answer_now_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answering(monkeypatch, socket.gaierror(socket.EAI_AGAIN, "try again"))
    result = await send(AddressPolicy(), f"http://{NAME}/hook")
    assert result.outcome is Outcome.RETRY
    assert not result.provider_fault


async def test_a_name_that_does_not_exist_fails_for_good(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answering(monkeypatch, socket.gaierror(socket.EAI_NONAME, "no such name"))
    result = await send(AddressPolicy(), f"http://{NAME}/hook")
    assert result.outcome is Outcome.PERMANENT
    assert "does not exist" in (result.error or "")
