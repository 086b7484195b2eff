"""The fan-out contract, in-process and on the real Redis: what the live
in-app stream will stand on."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from clarion.adapters.fanout.memory import MemoryFanout
from clarion.adapters.fanout.redis import RedisFanout
from clarion.ports import Fanout
from tests.support.databases import REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def fanout(request: pytest.FixtureRequest) -> AsyncIterator[Fanout]:
    adapter: Fanout = (
        MemoryFanout() if request.param == "memory" else RedisFanout.from_url(REDIS_URL)
    )
    yield adapter
    await adapter.close()


async def next_message(messages: AsyncIterator[bytes]) -> bytes:
    return await asyncio.wait_for(anext(messages), 3)


async def test_every_subscriber_of_a_channel_gets_each_message(fanout: Fanout) -> None:
    channel = f"inbox:{uuid.uuid4()}"
    async with fanout.subscribe(channel) as first, fanout.subscribe(channel) as second:
        await fanout.publish(channel, b"hello")
        await fanout.publish(channel, b"again")
        assert [await next_message(first), await next_message(first)] == [b"hello", b"again"]
        assert [await next_message(second), await next_message(second)] == [b"hello", b"again"]


async def test_messages_published_together_reach_each_channel_in_order(fanout: Fanout) -> None:
    one, two = f"inbox:{uuid.uuid4()}", f"inbox:{uuid.uuid4()}"
    async with fanout.subscribe(one) as first, fanout.subscribe(two) as second:
        await fanout.publish_many([(one, b"a"), (two, b"b"), (one, b"c")])
        await fanout.publish_many([])
        assert [await next_message(first), await next_message(first)] == [b"a", b"c"]
        assert await next_message(second) == b"b"


async def test_other_channels_are_not_received(fanout: Fanout) -> None:
    mine, theirs = f"inbox:{uuid.uuid4()}", f"inbox:{uuid.uuid4()}"
    async with fanout.subscribe(mine) as messages:
        await fanout.publish(theirs, b"not for me")
        await fanout.publish(mine, b"for me")
        assert await next_message(messages) == b"for me"


async def test_two_fanouts_on_one_redis_reach_each_other() -> None:
    """Two API processes: one publishes, the other's subscriber receives."""
    sender, receiver = RedisFanout.from_url(REDIS_URL), RedisFanout.from_url(REDIS_URL)
    channel = f"inbox:{uuid.uuid4()}"
    try:
        async with receiver.subscribe(channel) as messages:
            await sender.publish(channel, b"across processes")
            assert await next_message(messages) == b"across processes"
    finally:
        await sender.close()
        await receiver.close()
