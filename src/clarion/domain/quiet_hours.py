"""Quiet hours: a user's time zone and the weekly windows during which they do
not want to be disturbed. A notification that falls inside a window is deferred
to the moment the quiet ends, never dropped; this module answers "until when is
it quiet now?" and leaves the deferring to its caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Windows that touch or overlap are followed from one end to the next; a set
# covering the whole week would otherwise never end, so stop after two weeks'
# worth of daily windows and report the last end reached.
_MAX_CHAINED_WINDOWS = 14

_WEEKDAYS = frozenset(range(7))
_ONE_DAY = timedelta(days=1)
_FINEST_STEP = timedelta(microseconds=1)


@dataclass(frozen=True)
class QuietWindow:
    """A recurring quiet period in the user's local time.

    `days` are the weekdays on which the window starts (0 = Monday ... 6 =
    Sunday). `start` and `end` are whole-minute wall-clock times without tzinfo;
    an `end` at or before `start` means the window runs past midnight and ends
    the next day."""

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days:
            raise ValueError("a quiet window needs at least one weekday")
        if not self.days <= _WEEKDAYS:
            raise ValueError(f"weekdays must be 0 (Monday) to 6 (Sunday), got {sorted(self.days)}")
        for name, wall in (("start", self.start), ("end", self.end)):
            if wall.tzinfo is not None:
                raise ValueError(f"{name} is a local wall-clock time and must not carry tzinfo")
            if wall.second or wall.microsecond:
                raise ValueError(f"{name} must be a whole minute, got {wall.isoformat()}")
        if self.start == self.end:
            raise ValueError("a quiet window must not start and end at the same time")


def local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant (aware, tzinfo=UTC) at which the local wall-clock time
    `wall` occurs on `day` in `zone`.

    A local time that does not exist (a daylight-saving gap, e.g. 02:30 on the
    night clocks go forward) moves to the next local time that does exist (03:00
    in that example). A local time that exists twice (the night clocks go back)
    is its first occurrence."""
    if wall.tzinfo is not None:
        raise ValueError("wall is a local wall-clock time and must not carry tzinfo")
    naive = datetime.combine(day, wall)
    # fold=0 picks the first occurrence of a repeated time; combine() would
    # otherwise carry over whatever fold `wall` had.
    earlier_offset = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall_clock(earlier_offset, zone) == naive:
        return earlier_offset
    return _end_of_gap(naive, zone)


def _end_of_gap(naive: datetime, zone: ZoneInfo) -> datetime:
    # `naive` falls in a gap. Read with the offsets from either side of the
    # transition it gives two instants that bracket the transition: the earlier
    # one still shows a wall time before the gap, the later one a time after it.
    # The first existing local time is the wall time shown at the transition
    # itself, found by bisection so gaps of any length (30 minutes on Lord Howe
    # Island, a whole day in Samoa in 2011) come out exact.
    low, high = sorted(naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    while high - low > _FINEST_STEP:
        middle = low + (high - low) // 2
        if _wall_clock(middle, zone) >= naive:
            high = middle
        else:
            low = middle
    return high


def _span(window: QuietWindow, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    # The UTC instants [start, end) the window occupies when it starts on `day`.
    end_day = day if window.end > window.start else day + _ONE_DAY
    return local_instant(day, window.start, zone), local_instant(end_day, window.end, zone)


def _wall_clock(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def quiet_until(now: datetime, zone: ZoneInfo, windows: Sequence[QuietWindow]) -> datetime | None:
    """None if `now` (an aware datetime, any tz) is outside every window;
    otherwise the UTC instant the quiet ends.

    A window occupies [start, end) on each of its days, read in `zone`. When the
    end is itself inside another window (windows that touch or overlap) the quiet
    continues to that window's end, and so on, up to a bounded number of windows
    so that windows covering the whole week still give an answer."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    quiet_end = _latest_end_covering(now.astimezone(UTC), zone, windows)
    if quiet_end is None:
        return None
    for _ in range(_MAX_CHAINED_WINDOWS - 1):
        next_end = _latest_end_covering(quiet_end, zone, windows)
        if next_end is None:
            break
        quiet_end = next_end
    return quiet_end


def _latest_end_covering(
    instant: datetime, zone: ZoneInfo, windows: Sequence[QuietWindow]
) -> datetime | None:
    # A window that started yesterday may still be running. The extra day on
    # either side covers clocks that jump across midnight, which can move a
    # window's start or end onto a different local date than the one it names.
    local_day = instant.astimezone(zone).date()
    candidate_days = [local_day + offset * _ONE_DAY for offset in range(-2, 2)]
    latest: datetime | None = None
    for window in windows:
        for day in candidate_days:
            if day.weekday() not in window.days:
                continue
            start, end = _span(window, day, zone)
            if start <= instant < end and (latest is None or end > latest):
                latest = end
    return latest
