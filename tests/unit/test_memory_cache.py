"""The in-process cache stays within its bounds."""

from clarion.adapters.cache.memory import MemoryCache


async def test_entries_tombstones_and_tags_stay_within_the_bound() -> None:
    cache = MemoryCache(max_entries=100)
    for i in range(5_000):
        await cache.set(f"k{i}", b"v", 60, tags=(f"user:{i}",))
        await cache.delete(f"gone{i}")
    entries, tags = cache.size()
    assert entries <= 100
    assert tags <= 100


async def test_the_oldest_entry_leaves_first() -> None:
    cache = MemoryCache(max_entries=2)
    await cache.set("a", b"1", 60)
    await cache.set("b", b"2", 60)
    await cache.set("c", b"3", 60)
    assert await cache.get("a") is None
    assert (await cache.get("b"), await cache.get("c")) == (b"2", b"3")
