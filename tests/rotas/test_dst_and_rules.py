"""Hand-written cases: DST in both directions and several zones, and each rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rotas import (
    EmptyLayerError, InvalidRestrictionError, InvalidTurnError, Layer, NaiveDatetimeError, Override, Restriction,
    RotaError, Schedule, Turn, UnknownTimeZoneError, final_schedule, gaps, on_call, shifts_for,
)

UTC = timezone.utc


def daily(tz: str, hhmm: tuple[int, int], people=("a", "b"), anchor_day=(2026, 1, 1), unit="days", length=1):
    layer = Layer("main", Turn(unit, length), datetime(*anchor_day, *hhmm), tuple(people))
    return Schedule(tz, (layer,))


def durations(schedule, start, end):
    return [(s.person, s.end - s.start) for s in final_schedule(schedule, start, end)]


def test_new_york_spring_forward_daily_0900_turn_is_23_hours():
    s = daily("America/New_York", (9, 0))
    shifts = final_schedule(s, datetime(2026, 3, 7, 14, tzinfo=UTC), datetime(2026, 3, 9, 13, tzinfo=UTC))
    assert [(x.start, x.end - x.start) for x in shifts] == [
        (datetime(2026, 3, 7, 14, tzinfo=UTC), timedelta(hours=23)),   # Sat 09:00 EST -> Sun 09:00 EDT
        (datetime(2026, 3, 8, 13, tzinfo=UTC), timedelta(hours=24)),
    ]


def test_new_york_fall_back_daily_0900_turn_is_25_hours():
    s = daily("America/New_York", (9, 0))
    shifts = final_schedule(s, datetime(2026, 10, 31, 13, tzinfo=UTC), datetime(2026, 11, 2, 14, tzinfo=UTC))
    assert [x.end - x.start for x in shifts] == [timedelta(hours=25), timedelta(hours=24)]


def test_nonexistent_handoff_0230_happens_at_the_transition():
    s = daily("America/New_York", (2, 30))
    shifts = final_schedule(s, datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 3, 9, 12, tzinfo=UTC))
    # 02:30 does not exist on 8 March: the handoff is 03:00 EDT = 07:00 UTC, no gap.
    assert [x.start for x in shifts[1:]] == [datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 3, 9, 6, 30, tzinfo=UTC)]
    assert gaps(s, datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 3, 9, 12, tzinfo=UTC)) == []


def test_ambiguous_handoff_0130_is_the_first_occurrence():
    s = daily("America/New_York", (1, 30))
    shifts = final_schedule(s, datetime(2026, 10, 31, 12, tzinfo=UTC), datetime(2026, 11, 2, 12, tzinfo=UTC))
    # 01:30 happens twice on 1 November: the handoff is the first (EDT, 05:30 UTC).
    assert shifts[1].start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert shifts[1].end - shifts[1].start == timedelta(hours=25)


def test_hourly_turns_stay_absolute_across_dst():
    s = daily("America/New_York", (0, 0), unit="hours", length=12)
    spans = durations(s, datetime(2026, 3, 7, 5, tzinfo=UTC), datetime(2026, 3, 10, 5, tzinfo=UTC))
    assert all(d == timedelta(hours=12) for _, d in spans)


def test_europe_london_weekly_handoff_keeps_local_time():
    s = daily("Europe/London", (17, 0), unit="weeks", length=1, anchor_day=(2026, 3, 23))  # a Monday
    shifts = final_schedule(s, datetime(2026, 3, 23, 17, tzinfo=UTC), datetime(2026, 4, 6, 16, tzinfo=UTC))
    # BST starts 29 March: the second handoff is 17:00 BST = 16:00 UTC, the turn 167 h.
    assert shifts[0].end == datetime(2026, 3, 30, 16, tzinfo=UTC)
    assert shifts[0].end - shifts[0].start == timedelta(hours=167)


def test_southern_hemisphere_sydney():
    s = daily("Australia/Sydney", (9, 0))
    # DST ends 5 April 2026 (03:00 -> 02:00): the turn across it is 25 h.
    shifts = final_schedule(s, datetime(2026, 4, 3, 22, tzinfo=UTC), datetime(2026, 4, 6, 0, tzinfo=UTC))
    assert timedelta(hours=25) in [x.end - x.start for x in shifts]


def test_lord_howe_half_hour_dst():
    s = daily("Australia/Lord_Howe", (9, 0))
    start, end = datetime(2026, 4, 3, 0, tzinfo=UTC), datetime(2026, 4, 7, 0, tzinfo=UTC)
    lengths = {x.end - x.start for x in final_schedule(s, start, end)[1:-1]}
    assert timedelta(hours=24, minutes=30) in lengths
    s = daily("Australia/Lord_Howe", (9, 0))
    start, end = datetime(2026, 10, 2, 0, tzinfo=UTC), datetime(2026, 10, 6, 0, tzinfo=UTC)
    assert timedelta(hours=23, minutes=30) in {x.end - x.start for x in final_schedule(s, start, end)[1:-1]}


def test_restriction_across_midnight_and_weekend_all_day():
    weeknights = Restriction(frozenset(range(5)), 17 * 60, 9 * 60)
    weekends = Restriction(frozenset({5, 6}), 0, 1440)
    layer = Layer("nights", Turn("weeks", 1), datetime(2026, 11, 16, 9, 0), ("a",), (weeknights, weekends))
    s = Schedule("America/New_York", (layer,))
    wed_noon = datetime(2026, 11, 18, 17, tzinfo=UTC)
    wed_night = datetime(2026, 11, 19, 3, tzinfo=UTC)     # 22:00 Wed local
    thu_early = datetime(2026, 11, 19, 13, tzinfo=UTC)    # 08:00 Thu local
    sat_noon = datetime(2026, 11, 21, 17, tzinfo=UTC)
    assert on_call(s, wed_noon).person is None
    assert on_call(s, wed_night).person == "a" and on_call(s, thu_early).person == "a"
    assert on_call(s, sat_noon).person == "a"
    holes = gaps(s, datetime(2026, 11, 16, 14, tzinfo=UTC), datetime(2026, 11, 23, 14, tzinfo=UTC))
    # Mon..Fri 09:00-17:00 local are holes, and so is Monday 00:00-09:00 after the
    # weekend (Sunday's all-day window ends at midnight; weeknights start Monday 17:00).
    assert [h[1] - h[0] for h in holes] == [timedelta(hours=8)] * 5 + [timedelta(hours=9)]
    assert holes[-1] == (datetime(2026, 11, 23, 5, tzinfo=UTC), datetime(2026, 11, 23, 14, tzinfo=UTC))


def test_higher_layer_wins_only_where_it_has_someone_and_overrides_win_all():
    base = Layer("base", Turn("weeks", 1), datetime(2026, 1, 5, 9), ("base",))
    nights = Layer("nights", Turn("days", 1), datetime(2026, 1, 5, 9), ("night",),
                   (Restriction(frozenset(range(7)), 20 * 60, 8 * 60),))
    at_noon = datetime(2026, 11, 18, 17, tzinfo=UTC)
    at_night = datetime(2026, 11, 19, 3, tzinfo=UTC)
    s = Schedule("America/New_York", (base, nights))
    assert on_call(s, at_noon).person == "base" and on_call(s, at_night).source == "layer:nights"
    o = Override(at_night - timedelta(hours=1), at_night + timedelta(hours=1), "cover")
    s = Schedule("America/New_York", (base, nights), (o,))
    result = on_call(s, at_night)
    assert (result.person, result.source, result.until) == ("cover", "override", o.end)


def test_later_starting_override_wins_where_overrides_overlap():
    base = Layer("base", Turn("weeks", 1), datetime(2026, 1, 5, 9), ("base",))
    t = datetime(2026, 11, 18, 12, tzinfo=UTC)
    first = Override(t, t + timedelta(hours=4), "first")
    second = Override(t + timedelta(hours=1), t + timedelta(hours=2), "second")
    s = Schedule("UTC", (base,), (first, second))
    people = [(x.person, x.start - t) for x in final_schedule(s, t, t + timedelta(hours=5))]
    assert people == [("first", timedelta(0)), ("second", timedelta(hours=1)), ("first", timedelta(hours=2)),
                      ("base", timedelta(hours=4))]


def test_on_call_ten_years_after_the_anchor_is_exact():
    s = daily("America/New_York", (9, 0), people=("a", "b", "c"))
    at = datetime(2036, 7, 1, 18, tzinfo=UTC)  # 14:00 EDT
    days = (datetime(2036, 7, 1).date() - datetime(2026, 1, 1).date()).days
    result = on_call(s, at)
    assert result.person == "abc"[days % 3]
    assert result.until == datetime(2036, 7, 2, 13, tzinfo=UTC)


def test_gap_on_call_says_when_someone_comes_on():
    layer = Layer("days", Turn("days", 1), datetime(2026, 1, 1, 9), ("a",), (Restriction(frozenset(range(7)), 540, 1020),))
    s = Schedule("UTC", (layer,))
    result = on_call(s, datetime(2026, 5, 1, 20, tzinfo=UTC))
    assert result.person is None and result.until == datetime(2026, 5, 2, 9, tzinfo=UTC)
    assert on_call(s, datetime(2025, 1, 1, tzinfo=UTC)).until == datetime(2026, 1, 1, 9, tzinfo=UTC)


def test_shifts_for_one_person():
    s = daily("UTC", (9, 0), people=("a", "b"))
    mine = shifts_for(s, "a", datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 8, tzinfo=UTC))
    assert mine and all(x.person == "a" for x in mine)


@pytest.mark.parametrize("build, error", [
    (lambda: Schedule("Mars/Olympus", ()), UnknownTimeZoneError),
    (lambda: Schedule("../etc/passwd", ()), UnknownTimeZoneError),
    (lambda: Layer("x", Turn("days", 1), datetime(2026, 1, 1), ()), EmptyLayerError),
    (lambda: Turn("days", 0), InvalidTurnError),
    (lambda: Turn("days", -2), InvalidTurnError),
    (lambda: Turn("fortnights", 1), InvalidTurnError),
    (lambda: Restriction(frozenset({1}), 600, 600), InvalidRestrictionError),
    (lambda: Restriction(frozenset(), 0, 60), InvalidRestrictionError),
    (lambda: Restriction(frozenset({7}), 0, 60), InvalidRestrictionError),
    (lambda: Override(datetime(2026, 1, 1), datetime(2026, 1, 2), "a"), NaiveDatetimeError),
    (lambda: Override(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), "a"), RotaError),
    (lambda: Layer("x", Turn("days", 1), datetime(2026, 1, 1, tzinfo=UTC), ("a",)), RotaError),
    (lambda: on_call(daily("UTC", (9, 0)), datetime(2026, 1, 1)), NaiveDatetimeError),
    (lambda: final_schedule(daily("UTC", (9, 0)), datetime(2026, 1, 1), datetime(2026, 1, 2)), NaiveDatetimeError),
])
def test_invalid_input_raises_its_specific_error(build, error):
    with pytest.raises(error):
        build()
    assert issubclass(error, ValueError)
