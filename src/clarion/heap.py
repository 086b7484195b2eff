"""Garbage collection for a long-running server process.

CPython's cycle collector runs after every 700 net allocations of container
objects, and a full collection walks every object the process holds. Measured
on `clarion serve` delivering 1,000-notification batches, that was about 8% of
the process's CPU time, in full collections that each stopped the event loop
for about 100 ms (docs/benchmarks.md). A batch's objects live for the whole
batch, so they outlive the young generations and pile up in the old one.

`settle()` is called once the process has started: what start-up built (modules,
schemas, compiled SQL, the app) is moved out of the collector's reach for good,
and the young generation is allowed to grow to a batch's worth of objects
before it is collected. Objects are still freed by reference counting as
before; only cycles wait longer.
"""

from __future__ import annotations

import gc

# a batch of 1,000 notifications makes a few tens of thousands of objects
YOUNG_OBJECTS = 50_000
MIDDLE_COLLECTIONS = 20
OLD_COLLECTIONS = 10


def settle() -> None:
    gc.collect()  # start-up's own cycles are freed, not frozen
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, MIDDLE_COLLECTIONS, OLD_COLLECTIONS)
