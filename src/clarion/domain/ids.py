"""Time-ordered ids for the rows written on the hot path.

Laid out as UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74
random bits. Ids made later sort later, so new notifications and events land
at the right-hand edge of their tables' indexes instead of on a random page:
the pages a batch writes stay in cache however many rows are stored. They are
as unguessable as version 4 ids within a millisecond, and tell no more than a
notification's `createdAt` already does.
"""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> uuid.UUID:
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = rand >> 68  # 12 bits
    rand_b = rand & ((1 << 62) - 1)  # 62 bits
    value = (millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)
