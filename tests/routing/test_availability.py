from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.routing import (
    in_working_hours,
    is_available,
    is_on_leave,
    parse_working_hours,
    validate_working_hours,
)

NY = "America/New_York"
UTC = UTC


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def available(hours, now, *, leaves=(), tz=NY) -> bool:
    return is_available(working_hours=hours, leaves=list(leaves), timezone=tz, now=now)


def minutes_available(hours, start, end, tz=NY) -> int:
    count, at = 0, start
    while at < end:
        count += available(hours, at, tz=tz)
        at += timedelta(minutes=1)
    return count


# ------------------------------------------------------------ plain windows


def test_inside_and_outside_a_day_window_in_the_team_zone():
    hours = [{"days": ["tue"], "start": "09:00", "end": "17:00"}]
    # Tuesday 2026-03-10, New York is UTC-4 (EDT).
    assert available(hours, utc(2026, 3, 10, 13, 0))  # 09:00 local
    assert available(hours, utc(2026, 3, 10, 20, 59))  # 16:59 local
    assert not available(hours, utc(2026, 3, 10, 12, 59))  # 08:59 local
    assert not available(hours, utc(2026, 3, 10, 21, 0))  # 17:00 local: end is exclusive
    assert not available(hours, utc(2026, 3, 11, 13, 0))  # Wednesday


def test_the_zone_matters_not_utc():
    hours = [{"days": ["mon"], "start": "09:00", "end": "10:00"}]
    # Monday 2026-06-01 09:30 in Tokyo is 00:30 UTC the same day.
    assert available(hours, utc(2026, 6, 1, 0, 30), tz="Asia/Tokyo")
    assert not available(hours, utc(2026, 6, 1, 9, 30), tz="Asia/Tokyo")


def test_any_window_is_enough():
    hours = [
        {"days": ["mon"], "start": "08:00", "end": "09:00"},
        {"days": ["mon"], "start": "15:00", "end": "16:00"},
    ]
    assert available(hours, utc(2026, 6, 1, 19, 30))  # 15:30 EDT
    assert not available(hours, utc(2026, 6, 1, 17, 30))  # 13:30 EDT


def test_day_names_are_case_insensitive():
    hours = [{"days": ["Mon", "TUE"], "start": "00:00", "end": "24:00"}]
    assert available(hours, utc(2026, 6, 2, 12, 0))
    assert validate_working_hours(hours) == [
        {"days": ["mon", "tue"], "start": "00:00", "end": "24:00"}
    ]


def test_end_of_day_written_as_24_00():
    hours = [{"days": ["mon"], "start": "18:00", "end": "24:00"}]
    assert available(hours, utc(2026, 6, 2, 3, 59))  # Mon 23:59 EDT
    assert not available(hours, utc(2026, 6, 2, 4, 0))  # Tue 00:00 EDT


# ------------------------------------------------------------ overnight windows


def test_overnight_window_belongs_to_the_day_it_starts():
    hours = [{"days": ["fri"], "start": "22:00", "end": "06:00"}]
    # Friday 2026-06-05 / Saturday 2026-06-06, EDT = UTC-4.
    assert available(hours, utc(2026, 6, 6, 2, 0))  # Fri 22:00
    assert available(hours, utc(2026, 6, 6, 9, 59))  # Sat 05:59
    assert not available(hours, utc(2026, 6, 6, 10, 0))  # Sat 06:00
    assert not available(hours, utc(2026, 6, 6, 1, 59))  # Fri 21:59
    assert not available(hours, utc(2026, 6, 5, 7, 0))  # Fri 03:00: Thursday's night, not listed
    assert not available(hours, utc(2026, 6, 7, 2, 0))  # Sat 22:00: Saturday not listed


def test_overnight_window_wraps_from_sunday_to_monday():
    hours = [{"days": ["sun"], "start": "22:00", "end": "06:00"}]
    assert available(hours, utc(2026, 6, 8, 9, 0))  # Mon 05:00 EDT
    assert not available(hours, utc(2026, 6, 2, 9, 0))  # Tue 05:00 EDT


def test_equal_start_and_end_is_a_full_day_from_start():
    hours = [{"days": ["wed"], "start": "08:00", "end": "08:00"}]
    assert available(hours, utc(2026, 6, 3, 12, 0))  # Wed 08:00
    assert available(hours, utc(2026, 6, 4, 11, 59))  # Thu 07:59
    assert not available(hours, utc(2026, 6, 4, 12, 0))  # Thu 08:00
    assert not available(hours, utc(2026, 6, 3, 11, 59))  # Wed 07:59


# ------------------------------------------------------------ DST


def test_spring_forward_day_uses_local_wall_clock():
    hours = [{"days": ["sun"], "start": "09:00", "end": "17:00"}]
    # 2026-03-08: from 02:00 EST clocks jump to 03:00 EDT, so 09:00 local is 13:00 UTC.
    assert not available(hours, utc(2026, 3, 8, 12, 59))
    assert available(hours, utc(2026, 3, 8, 13, 0))
    assert available(hours, utc(2026, 3, 8, 20, 59))
    assert not available(hours, utc(2026, 3, 8, 21, 0))


def test_spring_forward_gap_hours_never_happen():
    gap_only = [{"days": ["sun"], "start": "02:00", "end": "03:00"}]
    assert minutes_available(gap_only, utc(2026, 3, 8, 4, 0), utc(2026, 3, 8, 10, 0)) == 0
    across_gap = [{"days": ["sun"], "start": "01:00", "end": "04:00"}]
    # 01:00-02:00 EST then 03:00-04:00 EDT: two real hours.
    assert available(across_gap, utc(2026, 3, 8, 6, 59))  # 01:59 EST
    assert available(across_gap, utc(2026, 3, 8, 7, 0))  # 03:00 EDT
    assert not available(across_gap, utc(2026, 3, 8, 8, 0))  # 04:00 EDT
    assert minutes_available(across_gap, utc(2026, 3, 8, 4, 0), utc(2026, 3, 8, 10, 0)) == 120


def test_fall_back_day_uses_local_wall_clock():
    hours = [{"days": ["sun"], "start": "09:00", "end": "17:00"}]
    # 2026-11-01: at 02:00 EDT clocks fall back to 01:00 EST, so 09:00 local is 14:00 UTC.
    assert not available(hours, utc(2026, 11, 1, 13, 59))
    assert available(hours, utc(2026, 11, 1, 14, 0))
    assert available(hours, utc(2026, 11, 1, 21, 59))
    assert not available(hours, utc(2026, 11, 1, 22, 0))


def test_fall_back_repeated_hour_matches_both_times():
    hours = [{"days": ["sun"], "start": "01:00", "end": "02:00"}]
    assert available(hours, utc(2026, 11, 1, 5, 0))  # 01:00 EDT
    assert available(hours, utc(2026, 11, 1, 6, 30))  # 01:30 EST, the second time round
    assert not available(hours, utc(2026, 11, 1, 7, 0))  # 02:00 EST
    assert minutes_available(hours, utc(2026, 11, 1, 3, 0), utc(2026, 11, 1, 9, 0)) == 120


def test_overnight_window_across_fall_back_lasts_an_hour_longer():
    hours = [{"days": ["sat"], "start": "22:00", "end": "06:00"}]
    # Sat 2026-10-31 22:00 EDT (02:00 UTC) to Sun 06:00 EST (11:00 UTC): 9 real hours.
    assert minutes_available(hours, utc(2026, 11, 1, 0, 0), utc(2026, 11, 1, 13, 0)) == 9 * 60


# ------------------------------------------------------------ leave and empty hours

ALWAYS = [
    {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}
]


def test_leave_makes_unavailable_start_inclusive_end_exclusive():
    leave = (utc(2026, 6, 1, 12, 0), utc(2026, 6, 3, 12, 0))
    assert available(ALWAYS, utc(2026, 6, 1, 11, 59), leaves=[leave])
    assert not available(ALWAYS, utc(2026, 6, 1, 12, 0), leaves=[leave])
    assert not available(ALWAYS, utc(2026, 6, 3, 11, 59), leaves=[leave])
    assert available(ALWAYS, utc(2026, 6, 3, 12, 0), leaves=[leave])
    assert is_on_leave([leave], utc(2026, 6, 2))
    assert not is_on_leave([leave], utc(2026, 6, 4))


def test_any_of_several_leaves_counts():
    leaves = [(utc(2026, 1, 1), utc(2026, 1, 2)), (utc(2026, 6, 1), utc(2026, 6, 2))]
    assert not available(ALWAYS, utc(2026, 6, 1, 6), leaves=leaves)
    assert available(ALWAYS, utc(2026, 3, 1, 6), leaves=leaves)


def test_naive_leave_bounds_are_read_as_utc():
    leave = (datetime(2026, 6, 1, 12, 0), datetime(2026, 6, 1, 13, 0))
    assert not available(ALWAYS, utc(2026, 6, 1, 12, 30), leaves=[leave])
    assert available(ALWAYS, utc(2026, 6, 1, 13, 0), leaves=[leave])


def test_empty_working_hours_mean_never_available():
    for at in (utc(2026, 6, 1, 3), utc(2026, 6, 3, 15), utc(2026, 6, 6, 23)):
        assert not available([], at)
        assert not in_working_hours([], timezone=NY, now=at)


# ------------------------------------------------------------ bad input


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        available(ALWAYS, datetime(2026, 6, 1, 12, 0))


def test_unknown_zone_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        available(ALWAYS, utc(2026, 6, 1), tz="Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("hours", "field"),
    [
        ([{"days": ["mon"], "start": "9:00", "end": "17:00"}], r"working_hours\[0\]\.start"),
        ([{"days": ["mon"], "start": "09:00", "end": "25:00"}], r"working_hours\[0\]\.end"),
        ([{"days": ["mon"], "start": "24:00", "end": "06:00"}], r"working_hours\[0\]\.start"),
        ([{"days": ["mon"], "start": "09:60", "end": "10:00"}], r"working_hours\[0\]\.start"),
        ([{"days": ["mon"], "start": "09:00"}], r"working_hours\[0\]\.end"),
        (
            [ALWAYS[0], {"days": ["someday"], "start": "09:00", "end": "17:00"}],
            r"working_hours\[1\]\.days",
        ),
        ([{"days": [], "start": "09:00", "end": "17:00"}], r"working_hours\[0\]\.days"),
        (["mon 9-5"], r"working_hours\[0\]"),
    ],
)
def test_malformed_hours_name_the_field(hours, field):
    with pytest.raises(ValueError, match=field):
        parse_working_hours(hours)
    with pytest.raises(ValueError, match=field):
        available(hours, utc(2026, 6, 1))


# ------------------------------------------------------------ properties

DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
times = st.integers(0, 23 * 60 + 59).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
zones = st.sampled_from([NY, "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"])


@settings(max_examples=200, deadline=None)
@given(day=st.integers(0, 6), start=times, end=times, now=instants, tz=zones)
def test_overnight_window_is_the_two_halves_either_side_of_midnight(day, start, end, now, tz):
    if end > start:
        start, end = end, start
    overnight = [{"days": [DAY_NAMES[day]], "start": start, "end": end}]
    halves = [
        {"days": [DAY_NAMES[day]], "start": start, "end": "24:00"},
        {"days": [DAY_NAMES[(day + 1) % 7]], "start": "00:00", "end": end},
    ]
    if end == "00:00":
        halves.pop()
    assert available(overnight, now, tz=tz) == available(halves, now, tz=tz)


@settings(max_examples=200, deadline=None)
@given(now=instants, tz=zones, before=st.integers(0, 10_000), after=st.integers(1, 10_000))
def test_leave_always_wins(now, tz, before, after):
    leave = (now - timedelta(minutes=before), now + timedelta(minutes=after))
    assert available(ALWAYS, now, tz=tz)
    assert not available(ALWAYS, now, leaves=[leave], tz=tz)


def test_seconds_past_the_start_minute_are_inside():
    """A minute is counted with its seconds: 09:00:30 is after 09:00, 08:59:30 before it."""
    hours = [{"days": ["tue"], "start": "09:00", "end": "17:00"}]
    assert available(hours, utc(2026, 3, 10, 13, 0, 30))  # 09:00:30 EDT
    assert not available(hours, utc(2026, 3, 10, 12, 59, 30))  # 08:59:30
    assert available(hours, utc(2026, 3, 10, 20, 59, 59, 999_999))  # 16:59:59.999999
