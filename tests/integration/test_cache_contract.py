"""The cache contract, run against the in-process cache and the real Redis."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from clarion.adapters.cache.memory import MemoryCache
from clarion.adapters.cache.redis import RedisCache
from clarion.ports import Cache
from tests.support.databases import REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        adapter: Cache = MemoryCache()
    else:
        redis_cache = RedisCache.from_url(REDIS_URL)
        # a prefix of its own keeps parallel runs and other tests apart
        redis_cache._prefix = f"test-{uuid.uuid4().hex[:8]}:"
        adapter = redis_cache
    yield adapter
    await adapter.close()


async def test_a_value_set_is_read_back(cache: Cache) -> None:
    await cache.set("notification:v1:1", b"payload", ttl_seconds=30)
    assert await cache.get("notification:v1:1") == b"payload"
    assert await cache.get("notification:v1:2") is None


async def test_a_deleted_key_is_gone(cache: Cache) -> None:
    await cache.set("k", b"v", ttl_seconds=30)
    await cache.delete("k")
    assert await cache.get("k") is None


async def test_a_value_expires_after_its_ttl(cache: Cache) -> None:
    await cache.set("short", b"v", ttl_seconds=0.2)
    await cache.set("long", b"v", ttl_seconds=30)
    await asyncio.sleep(0.35)
    assert await cache.get("short") is None
    assert await cache.get("long") == b"v"


async def test_invalidating_a_tag_drops_only_its_keys(cache: Cache) -> None:
    await cache.set("notifications:user:1:page:1", b"a", 30, tags=("user:1",))
    await cache.set("notifications:user:1:page:2", b"b", 30, tags=("user:1",))
    await cache.set("notifications:user:2:page:1", b"c", 30, tags=("user:2",))
    await cache.invalidate_tag("user:1")
    assert await cache.get("notifications:user:1:page:1") is None
    assert await cache.get("notifications:user:1:page:2") is None
    assert await cache.get("notifications:user:2:page:1") == b"c"


async def test_keys_and_tags_dropped_together_are_each_dropped(cache: Cache) -> None:
    for n in range(1, 4):
        await cache.set(f"notification:{n}", b"v", 30)
        await cache.set(f"notifications:user:{n}:page:1", b"p", 30, tags=(f"user:{n}",))
    await cache.delete("notification:1", "notification:2")
    await cache.invalidate_tag("user:1", "user:2")
    assert [await cache.get(f"notification:{n}") for n in range(1, 4)] == [None, None, b"v"]
    pages = [await cache.get(f"notifications:user:{n}:page:1") for n in range(1, 4)]
    assert pages == [None, None, b"p"]
    # each dropped key keeps its tombstone: an old value cannot be filled back
    assert not await cache.fill("notification:2", b"old", 30)
    await cache.delete()
    await cache.invalidate_tag()  # nothing named: nothing happens


async def test_a_key_tagged_after_invalidation_is_dropped_by_the_next_one(cache: Cache) -> None:
    await cache.set("a", b"1", 30, tags=("t",))
    await cache.invalidate_tag("t")
    await cache.set("b", b"2", 30, tags=("t",))
    assert await cache.get("b") == b"2"
    await cache.invalidate_tag("t")
    assert await cache.get("b") is None


async def test_ping_answers(cache: Cache) -> None:
    await cache.ping()
    assert cache.name == "cache"


async def test_a_fill_after_a_delete_cannot_bring_back_the_old_value(cache: Cache) -> None:
    """The cache-aside race: a reader loads the old row, a writer changes it and
    deletes the key, then the reader fills. The old value must not come back."""
    await cache.set("n:1", b"old", 30, tags=("user:1",))
    loaded_before_the_change = b"old"
    await cache.delete("n:1")
    assert await cache.fill("n:1", loaded_before_the_change, 30) is False
    assert await cache.get("n:1") is None


async def test_a_fill_after_a_tag_invalidation_is_refused_too(cache: Cache) -> None:
    await cache.set("n:2", b"old", 30, tags=("user:2",))
    await cache.invalidate_tag("user:2")
    assert await cache.fill("n:2", b"old", 30, tags=("user:2",)) is False
    assert await cache.get("n:2") is None


async def test_a_fill_of_an_empty_key_is_stored(cache: Cache) -> None:
    assert await cache.fill("n:3", b"fresh", 30, tags=("user:3",)) is True
    assert await cache.get("n:3") == b"fresh"
    await cache.invalidate_tag("user:3")
    assert await cache.get("n:3") is None
