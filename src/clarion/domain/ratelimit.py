"""The outcome of a rate-limit check, and the headers that report it."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class TierState:
    name: str
    limit: int
    window_seconds: int
    remaining: int
    reset_seconds: float


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    tiers: tuple[TierState, ...]

    def labelled(self, label: str) -> RateDecision:
        """The same decision with its tiers named after what they count."""
        return replace(self, tiers=tuple(replace(t, name=f"{label}-{t.name}") for t in self.tiers))

    def headers(self) -> dict[str, str]:
        """`RateLimit-Policy` / `RateLimit` (draft-ietf-httpapi-ratelimit-headers),
        reporting the tier closest to running out; plus `Retry-After` when refused."""
        if not self.tiers:
            return {}
        policy = ", ".join(f'"{t.name}";q={t.limit};w={t.window_seconds}' for t in self.tiers)
        tightest = min(self.tiers, key=lambda t: (t.remaining, -t.reset_seconds))
        reset = max(1, math.ceil(tightest.reset_seconds))
        headers = {
            "RateLimit-Policy": policy,
            "RateLimit": f'"{tightest.name}";r={tightest.remaining};t={reset}',
        }
        if not self.allowed:
            refused = [t for t in self.tiers if t.remaining == 0]
            wait = max(t.reset_seconds for t in refused) if refused else reset
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return headers
