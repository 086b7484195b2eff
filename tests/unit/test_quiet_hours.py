"""A user's quiet hours defer a notification to the end of the quiet, read in the
user's own time zone, including the nights the clocks change."""

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from clarion.domain.quiet_hours import QuietWindow, local_instant, quiet_until

NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
EVERY_DAY = frozenset(range(7))
MONDAY, TUESDAY, SATURDAY = 0, 1, 5

NIGHTLY = QuietWindow(days=EVERY_DAY, start=time(22), end=time(7))


def at(zone: tzinfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return at(UTC, year, month, day, hour, minute)


# An ordinary night in January (EST, UTC-5): Wednesday 14th into Thursday 15th.


def test_late_evening_is_deferred_to_seven_next_morning() -> None:
    until = quiet_until(at(NEW_YORK, 2026, 1, 14, 23, 30), NEW_YORK, [NIGHTLY])
    assert until == utc(2026, 1, 15, 12, 0)
    assert until is not None
    assert until.tzinfo is UTC


def test_a_minute_before_the_end_is_deferred_to_the_same_morning() -> None:
    until = quiet_until(at(NEW_YORK, 2026, 1, 15, 6, 59), NEW_YORK, [NIGHTLY])
    assert until == utc(2026, 1, 15, 12, 0)


def test_the_start_minute_is_quiet() -> None:
    until = quiet_until(at(NEW_YORK, 2026, 1, 14, 22, 0), NEW_YORK, [NIGHTLY])
    assert until == utc(2026, 1, 15, 12, 0)


@pytest.mark.parametrize(
    "local",
    [
        pytest.param((2026, 1, 15, 7, 0), id="the end minute"),
        pytest.param((2026, 1, 14, 21, 59), id="a minute before the start"),
        pytest.param((2026, 1, 14, 12, 0), id="midday"),
    ],
)
def test_outside_the_window_is_not_deferred(local: tuple[int, int, int, int, int]) -> None:
    assert quiet_until(at(NEW_YORK, *local), NEW_YORK, [NIGHTLY]) is None


def test_no_windows_means_never_quiet() -> None:
    assert quiet_until(at(NEW_YORK, 2026, 1, 14, 23, 30), NEW_YORK, []) is None


# The nights the clocks change in New York in 2026.


def test_the_night_clocks_go_forward_is_an_hour_shorter() -> None:
    now = at(NEW_YORK, 2026, 3, 7, 23, 30)  # EST, 04:30Z
    until = quiet_until(now, NEW_YORK, [NIGHTLY])
    assert until == utc(2026, 3, 8, 11, 0)  # 07:00 EDT
    assert until is not None
    assert until - now == timedelta(hours=6, minutes=30)


def test_the_night_clocks_go_back_is_an_hour_longer() -> None:
    now = at(NEW_YORK, 2026, 10, 31, 23, 30)  # EDT, 03:30Z
    until = quiet_until(now, NEW_YORK, [NIGHTLY])
    assert until == utc(2026, 11, 1, 12, 0)  # 07:00 EST
    assert until is not None
    assert until - now == timedelta(hours=8, minutes=30)


def test_a_window_ending_in_the_gap_ends_when_the_clocks_reach_three() -> None:
    early = QuietWindow(days=EVERY_DAY, start=time(0), end=time(2, 30))
    until = quiet_until(at(NEW_YORK, 2026, 3, 8, 1, 0), NEW_YORK, [early])
    assert until == utc(2026, 3, 8, 7, 0)  # 03:00 EDT


def test_a_window_starting_in_the_gap_starts_when_the_clocks_reach_three() -> None:
    window = QuietWindow(days=EVERY_DAY, start=time(2, 30), end=time(5))
    assert quiet_until(utc(2026, 3, 8, 6, 59), NEW_YORK, [window]) is None  # 01:59 EST
    assert quiet_until(utc(2026, 3, 8, 7, 0), NEW_YORK, [window]) == utc(2026, 3, 8, 9, 0)


def test_a_window_ending_in_a_half_hour_gap_ends_when_the_clocks_reach_the_far_side() -> None:
    # Lord Howe Island moves its clocks from 02:00 to 02:30 (UTC+10:30 to +11).
    early = QuietWindow(days=EVERY_DAY, start=time(0), end=time(2, 15))
    until = quiet_until(at(LORD_HOWE, 2026, 10, 4, 1, 0), LORD_HOWE, [early])
    assert until == utc(2026, 10, 3, 15, 30)  # 02:30 local


# local_instant on its own.


def test_an_ordinary_local_time_is_converted_with_that_days_offset() -> None:
    assert local_instant(date(2026, 1, 15), time(7), NEW_YORK) == utc(2026, 1, 15, 12, 0)
    assert local_instant(date(2026, 7, 15), time(7), NEW_YORK) == utc(2026, 7, 15, 11, 0)


@pytest.mark.parametrize("wall", [time(2, 0), time(2, 30), time(2, 59)])
def test_a_time_that_does_not_exist_moves_to_three_oclock(wall: time) -> None:
    instant = local_instant(date(2026, 3, 8), wall, NEW_YORK)
    assert instant == utc(2026, 3, 8, 7, 0)
    assert instant.tzinfo is UTC
    assert instant.astimezone(NEW_YORK).time() == time(3, 0)


def test_the_first_minutes_after_the_gap_are_unchanged() -> None:
    assert local_instant(date(2026, 3, 8), time(3, 0), NEW_YORK) == utc(2026, 3, 8, 7, 0)
    assert local_instant(date(2026, 3, 8), time(3, 1), NEW_YORK) == utc(2026, 3, 8, 7, 1)
    assert local_instant(date(2026, 3, 8), time(1, 59), NEW_YORK) == utc(2026, 3, 8, 6, 59)


@pytest.mark.parametrize("fold", [0, 1])
def test_a_time_that_happens_twice_is_its_first_occurrence(fold: int) -> None:
    instant = local_instant(date(2026, 11, 1), time(1, 30, fold=fold), NEW_YORK)
    assert instant == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, not 01:30 EST (06:30Z)


def test_a_time_in_a_half_hour_gap_moves_to_the_end_of_the_gap() -> None:
    instant = local_instant(date(2026, 10, 4), time(2, 15), LORD_HOWE)
    assert instant == utc(2026, 10, 3, 15, 30)
    assert instant.astimezone(LORD_HOWE).time() == time(2, 30)


def test_a_wall_time_with_a_zone_is_rejected() -> None:
    with pytest.raises(ValueError, match="tzinfo"):
        local_instant(date(2026, 1, 15), time(7, tzinfo=UTC), NEW_YORK)


# Windows on some weekdays only: Saturday 17 January 2026 and the Sunday after.

SATURDAY_NIGHT = QuietWindow(days=frozenset({SATURDAY}), start=time(22), end=time(9))


def test_a_saturday_window_covers_saturday_night() -> None:
    until = quiet_until(at(NEW_YORK, 2026, 1, 17, 23, 0), NEW_YORK, [SATURDAY_NIGHT])
    assert until == utc(2026, 1, 18, 14, 0)  # Sunday 09:00 EST


def test_a_saturday_window_runs_into_sunday_morning() -> None:
    until = quiet_until(at(NEW_YORK, 2026, 1, 18, 8, 0), NEW_YORK, [SATURDAY_NIGHT])
    assert until == utc(2026, 1, 18, 14, 0)


@pytest.mark.parametrize(
    "local",
    [
        pytest.param((2026, 1, 18, 23, 0), id="sunday night"),
        pytest.param((2026, 1, 16, 23, 0), id="friday night"),
        pytest.param((2026, 1, 17, 8, 0), id="saturday morning"),
    ],
)
def test_a_saturday_window_is_silent_on_other_nights(local: tuple[int, int, int, int, int]) -> None:
    assert quiet_until(at(NEW_YORK, *local), NEW_YORK, [SATURDAY_NIGHT]) is None


# Windows that touch or overlap: Monday 12 January 2026 into Tuesday.

MONDAY_NIGHT = QuietWindow(days=frozenset({MONDAY}), start=time(22), end=time(7))


def test_overlapping_windows_chain_to_the_last_end() -> None:
    tuesday_morning = QuietWindow(days=frozenset({TUESDAY}), start=time(6), end=time(9))
    now = at(NEW_YORK, 2026, 1, 12, 23, 0)
    expected = utc(2026, 1, 13, 14, 0)  # Tuesday 09:00 EST
    assert quiet_until(now, NEW_YORK, [MONDAY_NIGHT, tuesday_morning]) == expected
    assert quiet_until(now, NEW_YORK, [tuesday_morning, MONDAY_NIGHT]) == expected


def test_touching_windows_chain_to_the_last_end() -> None:
    tuesday_morning = QuietWindow(days=frozenset({TUESDAY}), start=time(7), end=time(9))
    until = quiet_until(at(NEW_YORK, 2026, 1, 12, 23, 0), NEW_YORK, [MONDAY_NIGHT, tuesday_morning])
    assert until == utc(2026, 1, 13, 14, 0)


def test_a_shorter_window_inside_a_longer_one_does_not_cut_it_short() -> None:
    short = QuietWindow(days=frozenset({MONDAY}), start=time(23), end=time(1))
    until = quiet_until(at(NEW_YORK, 2026, 1, 12, 23, 30), NEW_YORK, [short, MONDAY_NIGHT])
    assert until == utc(2026, 1, 13, 12, 0)  # Tuesday 07:00 EST


def test_windows_a_gap_apart_do_not_chain() -> None:
    tuesday_morning = QuietWindow(days=frozenset({TUESDAY}), start=time(7, 1), end=time(9))
    until = quiet_until(at(NEW_YORK, 2026, 1, 12, 23, 0), NEW_YORK, [MONDAY_NIGHT, tuesday_morning])
    assert until == utc(2026, 1, 13, 12, 0)


def test_windows_covering_the_whole_week_still_give_an_end() -> None:
    # Each day 12:00 to 11:00 the next day, and 10:00 to 13:00 to close the hour left.
    always = [
        QuietWindow(days=EVERY_DAY, start=time(12), end=time(11)),
        QuietWindow(days=EVERY_DAY, start=time(10), end=time(13)),
    ]
    now = at(NEW_YORK, 2026, 1, 14, 23, 30)
    until = quiet_until(now, NEW_YORK, always)
    assert until is not None
    assert now + timedelta(days=1) < until < now + timedelta(days=15)


# The caller's clock may be in any zone.


@pytest.mark.parametrize("zone", [UTC, ZoneInfo("Asia/Tokyo"), NEW_YORK])
def test_now_in_any_zone_gives_the_same_answer(zone: tzinfo) -> None:
    now = at(NEW_YORK, 2026, 1, 14, 23, 30).astimezone(zone)
    assert quiet_until(now, NEW_YORK, [NIGHTLY]) == utc(2026, 1, 15, 12, 0)


def test_the_same_instant_is_quiet_for_one_user_and_not_another() -> None:
    now = utc(2026, 1, 15, 4, 30)  # 23:30 in New York, 13:30 in Tokyo
    assert quiet_until(now, NEW_YORK, [NIGHTLY]) == utc(2026, 1, 15, 12, 0)
    assert quiet_until(now, ZoneInfo("Asia/Tokyo"), [NIGHTLY]) is None


def test_a_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        quiet_until(datetime(2026, 1, 14, 23, 30), NEW_YORK, [NIGHTLY])


# Windows that cannot mean anything are refused when they are built.


@pytest.mark.parametrize(
    ("days", "start", "end", "message"),
    [
        pytest.param(EVERY_DAY, time(22), time(22), "same time", id="start equals end"),
        pytest.param(frozenset(), time(22), time(7), "weekday", id="no days"),
        pytest.param(frozenset({7}), time(22), time(7), "weekday", id="day 7"),
        pytest.param(frozenset({-1}), time(22), time(7), "weekday", id="day -1"),
        pytest.param(EVERY_DAY, time(22, tzinfo=UTC), time(7), "tzinfo", id="start with zone"),
        pytest.param(EVERY_DAY, time(22), time(7, tzinfo=UTC), "tzinfo", id="end with zone"),
        pytest.param(EVERY_DAY, time(22, 0, 30), time(7), "whole minute", id="seconds"),
        pytest.param(EVERY_DAY, time(22), time(7, 0, 0, 5), "whole minute", id="microseconds"),
    ],
)
def test_invalid_windows_are_rejected(
    days: frozenset[int], start: time, end: time, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        QuietWindow(days=days, start=start, end=end)
