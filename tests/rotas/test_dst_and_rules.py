"""Hand-written cases: DST in both directions in several zones, and each rule.

Expected instants are written out in UTC, worked by hand from the zone's
transition (noted beside each), not computed by the engine's helpers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rotas import (
    EmptyLayerError,
    InvalidLayerError,
    InvalidOverrideError,
    InvalidRestrictionError,
    InvalidTurnError,
    InvalidWindowError,
    Layer,
    NaiveDatetimeError,
    OnCall,
    Override,
    Restriction,
    RotaError,
    Schedule,
    Shift,
    Turn,
    UnknownTimeZoneError,
    final_schedule,
    gaps,
    on_call,
    shifts_for,
)

UTC = UTC
H = timedelta(hours=1)


def z(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rota(
    tz: str, anchor: datetime, people=("a", "b"), unit="days", length=1, restrictions=()
) -> Schedule:
    return Schedule(
        tz, (Layer("main", Turn(unit, length), anchor, tuple(people), tuple(restrictions)),)
    )


def handoffs(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    return [(s.start, s.person) for s in final_schedule(schedule, start, end)]


# --- America/New_York: spring forward 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z);
#     fall back 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z).


def test_new_york_spring_forward_0900_handoff_turn_is_23_hours():
    s = rota("America/New_York", datetime(2026, 3, 7, 9))
    assert handoffs(s, z(2026, 3, 7, 14), z(2026, 3, 10, 13)) == [
        (z(2026, 3, 7, 14), "a"),  # Sat 09:00 EST
        (z(2026, 3, 8, 13), "b"),  # Sun 09:00 EDT: 23 h later
        (z(2026, 3, 9, 13), "a"),
    ]


def test_new_york_fall_back_0900_handoff_turn_is_25_hours():
    s = rota("America/New_York", datetime(2026, 10, 31, 9))
    assert handoffs(s, z(2026, 10, 31, 13), z(2026, 11, 3, 14)) == [
        (z(2026, 10, 31, 13), "a"),  # Sat 09:00 EDT
        (z(2026, 11, 1, 14), "b"),  # Sun 09:00 EST: 25 h later
        (z(2026, 11, 2, 14), "a"),
    ]


def test_new_york_nonexistent_0230_handoff_happens_at_the_transition():
    s = rota("America/New_York", datetime(2026, 3, 7, 2, 30))
    assert handoffs(s, z(2026, 3, 7, 7, 30), z(2026, 3, 9, 12)) == [
        (z(2026, 3, 7, 7, 30), "a"),  # Sat 02:30 EST
        (z(2026, 3, 8, 7), "b"),  # 02:30 does not exist: 03:00 EDT, the transition
        (z(2026, 3, 9, 6, 30), "a"),  # Mon 02:30 EDT
    ]
    assert gaps(s, z(2026, 3, 7, 7, 30), z(2026, 3, 9, 12)) == []
    # One second before the transition (01:59:59 EST) the old turn still holds.
    assert on_call(s, z(2026, 3, 8, 6, 59, 59)) == OnCall("a", "layer:main", z(2026, 3, 8, 7))


def test_new_york_ambiguous_0130_handoff_is_the_first_occurrence():
    s = rota("America/New_York", datetime(2026, 10, 31, 1, 30))
    assert handoffs(s, z(2026, 10, 31, 5, 30), z(2026, 11, 2, 12)) == [
        (z(2026, 10, 31, 5, 30), "a"),  # Sat 01:30 EDT
        (z(2026, 11, 1, 5, 30), "b"),  # Sun 01:30 EDT, the first 01:30: 24 h later
        (z(2026, 11, 2, 6, 30), "a"),  # Mon 01:30 EST: 25 h later
    ]
    # The second 01:30 (EST) is inside b's turn, not a new handoff.
    assert on_call(s, z(2026, 11, 1, 6, 30)) == OnCall("b", "layer:main", z(2026, 11, 2, 6, 30))


def test_new_york_12_hour_day_night_hands_off_at_0800_and_2000_across_both_changes():
    s = rota(
        "America/New_York",
        datetime(2026, 3, 1, 8),
        people=("day", "night"),
        unit="hours",
        length=12,
    )
    assert handoffs(s, z(2026, 3, 7, 13), z(2026, 3, 9, 13)) == [
        (z(2026, 3, 7, 13), "day"),  # Sat 08:00 EST
        (z(2026, 3, 8, 1), "night"),  # Sat 20:00 EST
        (z(2026, 3, 8, 12), "day"),  # Sun 08:00 EDT: the night across the change is 11 h
        (z(2026, 3, 9, 0), "night"),  # Sun 20:00 EDT
        (z(2026, 3, 9, 12), "day"),  # Mon 08:00 EDT
    ]
    assert handoffs(s, z(2026, 10, 31, 12), z(2026, 11, 2, 14)) == [
        (z(2026, 10, 31, 12), "day"),  # Sat 08:00 EDT (turn 488 since 1 March)
        (z(2026, 11, 1), "night"),  # Sat 20:00 EDT
        (z(2026, 11, 1, 13), "day"),  # Sun 08:00 EST: the night across the change is 13 h
        (z(2026, 11, 2, 1), "night"),  # Sun 20:00 EST
        (z(2026, 11, 2, 13), "day"),  # Mon 08:00 EST
    ]
    assert on_call(s, z(2026, 3, 8, 11, 59)) == OnCall(
        "night", "layer:main", z(2026, 3, 8, 12)
    )  # 07:59 EDT
    assert on_call(s, z(2026, 11, 1, 12, 30)) == OnCall(
        "night", "layer:main", z(2026, 11, 1, 13)
    )  # 07:30 EST
    # A whole year: every handoff is the day worker at 08:00 or the night worker at 20:00.
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    year = final_schedule(s, z(2026, 3, 1, 13), z(2027, 3, 1, 13))
    assert len(year) == 730
    assert {(x.start.astimezone(ny).strftime("%H:%M"), x.person) for x in year} == {
        ("08:00", "day"),
        ("20:00", "night"),
    }


@pytest.mark.parametrize(
    ("day", "window", "first", "length", "second"),
    [
        # 00:00 EST-03:00 EDT is 2 h; then 03:00-06:00 EDT.
        (
            datetime(2026, 3, 8),
            (z(2026, 3, 8, 5), z(2026, 3, 8, 13)),
            (z(2026, 3, 8, 5), z(2026, 3, 8, 7)),
            2 * H,
            (z(2026, 3, 8, 7), z(2026, 3, 8, 10)),
        ),
        # 00:00 EDT-03:00 EST is 4 h; then 03:00-06:00 EST.
        (
            datetime(2026, 11, 1),
            (z(2026, 11, 1, 4), z(2026, 11, 1, 14)),
            (z(2026, 11, 1, 4), z(2026, 11, 1, 8)),
            4 * H,
            (z(2026, 11, 1, 8), z(2026, 11, 1, 11)),
        ),
    ],
    ids=["spring", "autumn"],
)
def test_new_york_3_hour_turns_from_midnight_end_at_0300_on_both_transition_days(
    day, window, first, length, second
):
    s = rota("America/New_York", day, people=("a", "b"), unit="hours", length=3)
    got, got_second = final_schedule(s, *window)[:2]
    assert (got.start, got.end, got.person) == (*first, "a")
    assert got.end - got.start == length
    assert (got_second.start, got_second.end) == second


def test_new_york_1_hour_turns_through_the_skipped_and_the_repeated_hour():
    # Anchor 1 March 00:00; 8 March and 1 November 00:00 are turns 168 and 5880, both multiples of 7: "a".
    s = rota(
        "America/New_York", datetime(2026, 3, 1), people=tuple("abcdefg"), unit="hours", length=1
    )
    spring = (z(2026, 3, 8, 4), z(2026, 3, 8, 9))
    assert handoffs(s, *spring) == [
        (z(2026, 3, 8, 4), "g"),  # 23:00 EST
        (z(2026, 3, 8, 5), "a"),  # 00:00 EST
        (z(2026, 3, 8, 6), "b"),  # 01:00 EST
        (
            z(2026, 3, 8, 7),
            "d",
        ),  # 03:00 EDT: c's 02:00-03:00 turn lies wholly in the skipped hour and lasts no time
        (z(2026, 3, 8, 8), "e"),  # 04:00 EDT
    ]
    autumn = (z(2026, 11, 1, 3), z(2026, 11, 1, 9))
    assert handoffs(s, *autumn) == [
        (z(2026, 10, 31, 3) + 24 * H, "g"),  # 23:00 EDT
        (z(2026, 11, 1, 4), "a"),  # 00:00 EDT
        (z(2026, 11, 1, 5), "b"),  # the first 01:00 (EDT) until 02:00 EST: both 01:00s, 2 h
        (z(2026, 11, 1, 7), "c"),  # 02:00 EST
        (z(2026, 11, 1, 8), "d"),  # 03:00 EST
    ]
    assert on_call(s, z(2026, 11, 1, 6, 30)) == OnCall(
        "b", "layer:main", z(2026, 11, 1, 7)
    )  # the second 01:30
    for window in (spring, autumn):
        shifts = final_schedule(s, *window)
        # Somebody at every instant, one person at a time, nobody on call twice.
        assert gaps(s, *window) == []
        assert all(a.end == b.start for a, b in zip(shifts, shifts[1:]))
        assert len({x.person for x in shifts}) == len(shifts)


def test_every_handoff_of_a_5_hour_turn_over_a_year_is_at_local_clock_time():
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    s = rota(
        "America/New_York", datetime(2026, 1, 1), people=("a", "b", "c"), unit="hours", length=5
    )
    year = final_schedule(s, z(2026, 1, 1, 5), z(2027, 1, 1, 5))
    assert len(year) == 8760 // 5  # 1752 turns of local clock time in 2026
    local_starts = [x.start.astimezone(ny).replace(tzinfo=None) for x in year]
    assert local_starts == [datetime(2026, 1, 1) + 5 * H * k for k in range(1752)]
    assert [x.person for x in year] == ["abc"[k % 3] for k in range(1752)]
    odd = {x.start: x.end - x.start for x in year if x.end - x.start != 5 * H}
    assert odd == {
        z(2026, 3, 8, 6): 4 * H,  # 01:00 EST -> 06:00 EDT
        z(2026, 11, 1, 3): 6 * H,
    }  # 23:00 EDT -> 04:00 EST
    # 25 December 12:00 EST is 8604 clock hours on: turn 1720 (08:00-13:00), 1720 % 3 == 1.
    assert on_call(s, z(2026, 12, 25, 17)) == OnCall("b", "layer:main", z(2026, 12, 25, 18))


# --- Europe/London: BST starts 2026-03-29 01:00Z (01:00 -> 02:00), ends 2026-10-25 01:00Z (02:00 -> 01:00).


def test_europe_london_daily_gap_and_fold():
    s = rota("Europe/London", datetime(2026, 3, 28, 1, 30))
    assert [x.start for x in final_schedule(s, z(2026, 3, 28, 1, 30), z(2026, 3, 31))] == [
        z(2026, 3, 28, 1, 30),
        z(2026, 3, 29, 1),
        z(2026, 3, 30, 0, 30),
    ]  # 01:30 GMT, gap -> 02:00 BST, 01:30 BST
    s = rota("Europe/London", datetime(2026, 10, 24, 1, 30))
    assert [x.start for x in final_schedule(s, z(2026, 10, 24, 0, 30), z(2026, 10, 27))] == [
        z(2026, 10, 24, 0, 30),
        z(2026, 10, 25, 0, 30),
        z(2026, 10, 26, 1, 30),
    ]  # 01:30 BST, first 01:30 (BST), GMT


def test_europe_london_weekly_rotation_keeps_local_handoff():
    s = rota(
        "Europe/London", datetime(2026, 3, 16, 17), people=("a", "b", "c"), unit="weeks"
    )  # a Monday
    assert handoffs(s, z(2026, 3, 16, 17), z(2026, 4, 13, 16)) == [
        (z(2026, 3, 16, 17), "a"),  # 17:00 GMT
        (z(2026, 3, 23, 17), "b"),
        (z(2026, 3, 30, 16), "c"),  # 17:00 BST: the week across the change is 167 h
        (z(2026, 4, 6, 16), "a"),
    ]


# --- Southern hemisphere. Sydney: AEDT ends 2026-04-05 03:00 -> 02:00 (04-04 16:00Z),
#     starts 2026-10-04 02:00 -> 03:00 (10-03 16:00Z).


def test_australia_sydney_turns_are_25_then_23_hours():
    s = rota("Australia/Sydney", datetime(2026, 4, 4, 9))
    assert [x.start for x in final_schedule(s, z(2026, 4, 3, 22), z(2026, 4, 6))] == [
        z(2026, 4, 3, 22),
        z(2026, 4, 4, 23),
        z(2026, 4, 5, 23),
    ]  # 09:00 AEDT, then AEST: 25 h
    s = rota("Australia/Sydney", datetime(2026, 10, 3, 9))
    assert [x.start for x in final_schedule(s, z(2026, 10, 2, 23), z(2026, 10, 5))] == [
        z(2026, 10, 2, 23),
        z(2026, 10, 3, 22),
        z(2026, 10, 4, 22),
    ]  # 09:00 AEST, then AEDT: 23 h
    s = rota("Australia/Sydney", datetime(2026, 10, 3, 2, 30))
    assert final_schedule(s, z(2026, 10, 2, 16, 30), z(2026, 10, 4))[1].start == z(
        2026, 10, 3, 16
    )  # gap -> 03:00 AEDT


# Santiago: 2026-04-05 00:00 -03 -> 04-04 23:00 -04 (03:00Z); 2026-09-06 00:00 -04 -> 01:00 -03 (04:00Z).


def test_america_santiago_midnight_handoff_in_the_gap_and_late_fold():
    s = rota("America/Santiago", datetime(2026, 9, 5, 0, 0))
    assert [x.start for x in final_schedule(s, z(2026, 9, 5, 4), z(2026, 9, 8))] == [
        z(2026, 9, 5, 4),
        z(2026, 9, 6, 4),
        z(2026, 9, 7, 3),
    ]  # midnight -04, gap -> 01:00 -03, midnight -03
    s = rota("America/Santiago", datetime(2026, 4, 3, 23, 30))
    assert [x.start for x in final_schedule(s, z(2026, 4, 4, 2, 30), z(2026, 4, 7))] == [
        z(2026, 4, 4, 2, 30),
        z(2026, 4, 5, 2, 30),
        z(2026, 4, 6, 3, 30),
    ]  # the first 23:30 (-03), then -04


# Lord Howe: 30-minute DST. Ends 2026-04-05 02:00 +11 -> 01:30 +10:30 (04-04 15:00Z);
# starts 2026-10-04 02:00 +10:30 -> 02:30 +11 (10-03 15:30Z).


def test_australia_lord_howe_turns_are_24_and_a_half_then_23_and_a_half_hours():
    s = rota("Australia/Lord_Howe", datetime(2026, 4, 4, 9))
    shifts = final_schedule(s, z(2026, 4, 3, 22), z(2026, 4, 6))
    assert [x.start for x in shifts] == [
        z(2026, 4, 3, 22),
        z(2026, 4, 4, 22, 30),
        z(2026, 4, 5, 22, 30),
    ]
    assert shifts[0].end - shifts[0].start == timedelta(hours=24, minutes=30)
    s = rota("Australia/Lord_Howe", datetime(2026, 10, 3, 9))
    shifts = final_schedule(s, z(2026, 10, 2, 22, 30), z(2026, 10, 5))
    assert [x.start for x in shifts] == [
        z(2026, 10, 2, 22, 30),
        z(2026, 10, 3, 22),
        z(2026, 10, 4, 22),
    ]
    assert shifts[0].end - shifts[0].start == timedelta(hours=23, minutes=30)
    s = rota("Australia/Lord_Howe", datetime(2026, 10, 3, 2, 15))
    assert final_schedule(s, z(2026, 10, 2, 15, 45), z(2026, 10, 4))[1].start == z(
        2026, 10, 3, 15, 30
    )  # gap


def test_australia_lord_howe_12_hour_turns_hand_off_at_0800_and_2000_across_the_half_hour_changes():
    s = rota(
        "Australia/Lord_Howe",
        datetime(2026, 4, 1, 8),
        people=("day", "night"),
        unit="hours",
        length=12,
    )
    assert handoffs(s, z(2026, 4, 3, 21), z(2026, 4, 5, 10)) == [
        (z(2026, 4, 3, 21), "day"),  # Apr 4 08:00 +11
        (z(2026, 4, 4, 9), "night"),  # 20:00 +11
        (z(2026, 4, 4, 21, 30), "day"),  # Apr 5 08:00 +10:30: the night is 12 h 30
        (z(2026, 4, 5, 9, 30), "night"),  # 20:00 +10:30
    ]
    assert on_call(s, z(2026, 4, 4, 21)) == OnCall("night", "layer:main", z(2026, 4, 4, 21, 30))
    assert handoffs(s, z(2026, 10, 2, 21, 30), z(2026, 10, 4, 9, 30)) == [
        (z(2026, 10, 2, 21, 30), "day"),  # Oct 3 08:00 +10:30 (turn 370)
        (z(2026, 10, 3, 9, 30), "night"),  # 20:00 +10:30
        (z(2026, 10, 3, 21), "day"),  # Oct 4 08:00 +11: the night is 11 h 30
        (z(2026, 10, 4, 9), "night"),  # 20:00 +11
    ]
    # 02:15 does not exist on 4 October (02:00 -> 02:30): that handoff is the change itself.
    s = rota("Australia/Lord_Howe", datetime(2026, 10, 1, 2, 15), unit="hours", length=12)
    assert [x.start for x in final_schedule(s, z(2026, 10, 3, 3, 45), z(2026, 10, 4, 3, 30))] == [
        z(2026, 10, 3, 3, 45),  # Oct 3 14:15 +10:30
        z(2026, 10, 3, 15, 30),  # 02:15 -> 02:30 +11, 11 h 45 later
        z(2026, 10, 4, 3, 15),  # 14:15 +11, 11 h 45 later
    ]


# --- Restrictions


def test_restriction_across_midnight_and_weekend_all_day():
    weeknights = Restriction(frozenset(range(5)), 17 * 60, 9 * 60)
    weekends = Restriction(frozenset({5, 6}), 0, 1440)
    s = rota(
        "America/New_York",
        datetime(2026, 11, 16, 9),
        people=("a",),
        unit="weeks",
        restrictions=(weeknights, weekends),
    )
    assert on_call(s, z(2026, 11, 18, 17)) == OnCall(
        None, None, z(2026, 11, 18, 22)
    )  # Wed noon: nobody until 17:00
    assert on_call(s, z(2026, 11, 19, 3)) == OnCall(
        "a", "layer:main", z(2026, 11, 19, 14)
    )  # Wed 22:00 until Thu 09:00
    assert on_call(s, z(2026, 11, 19, 13, 59)).person == "a"  # Thu 08:59
    assert on_call(s, z(2026, 11, 19, 14)).person is None  # Thu 09:00
    # Fri 17:00 -> Sat 09:00 runs straight into Saturday and Sunday all day: one shift to Mon 00:00.
    assert on_call(s, z(2026, 11, 20, 22)) == OnCall("a", "layer:main", z(2026, 11, 23, 5))
    # Mon..Fri 09:00-17:00 are holes, and so is Monday 00:00-09:00 after the
    # weekend (Sunday's all-day window ends at midnight; weeknights start Monday 17:00).
    assert gaps(s, z(2026, 11, 16, 14), z(2026, 11, 23, 14)) == [
        (z(2026, 11, 16 + d, 14), z(2026, 11, 16 + d, 22)) for d in range(5)
    ] + [(z(2026, 11, 23, 5), z(2026, 11, 23, 14))]


def test_restriction_windows_resolve_like_handoffs_across_dst():
    # 02:30-04:00 daily on spring-forward day opens at the transition (03:00 EDT): one hour.
    s = rota(
        "America/New_York",
        datetime(2026, 3, 1),
        people=("a",),
        restrictions=(Restriction(frozenset(range(7)), 150, 240),),
    )
    assert [(x.start, x.end) for x in final_schedule(s, z(2026, 3, 8), z(2026, 3, 9))] == [
        (z(2026, 3, 8, 7), z(2026, 3, 8, 8))
    ]
    # 01:00-02:00 on fall-back day: from the first 01:00 (EDT) to 02:00 EST: two hours.
    s = rota(
        "America/New_York",
        datetime(2026, 10, 1),
        people=("a",),
        restrictions=(Restriction(frozenset(range(7)), 60, 120),),
    )
    assert [(x.start, x.end) for x in final_schedule(s, z(2026, 11, 1), z(2026, 11, 2))] == [
        (z(2026, 11, 1, 5), z(2026, 11, 1, 7))
    ]


def test_restrictions_mask_turns_without_shifting_the_rotation():
    days_only = Restriction(frozenset(range(7)), 9 * 60, 17 * 60)
    s = rota("UTC", datetime(2026, 1, 1, 0, 0), people=("a", "b", "c"), restrictions=(days_only,))
    assert handoffs(s, z(2026, 1, 1), z(2026, 1, 4)) == [
        (z(2026, 1, 1, 9), "a"),
        (z(2026, 1, 2, 9), "b"),
        (z(2026, 1, 3, 9), "c"),
    ]
    # A 12-hourly rota under a 09:00-17:00 mask: the 12:00 handoff still happens mid-window.
    s = rota(
        "UTC",
        datetime(2026, 1, 1, 0, 0),
        people=("a", "b"),
        unit="hours",
        length=12,
        restrictions=(days_only,),
    )
    assert handoffs(s, z(2026, 1, 1), z(2026, 1, 2)) == [
        (z(2026, 1, 1, 9), "a"),
        (z(2026, 1, 1, 12), "b"),
    ]


# --- Layers and overrides


def test_higher_layer_wins_only_where_it_has_someone():
    base = Layer("base", Turn("weeks", 1), datetime(2026, 1, 5, 9), ("base",))
    nights = Layer(
        "nights",
        Turn("days", 1),
        datetime(2026, 1, 5, 9),
        ("night",),
        (Restriction(frozenset(range(7)), 20 * 60, 8 * 60),),
    )
    s = Schedule("America/New_York", (base, nights))
    assert [
        (x.start, x.person, x.source)
        for x in final_schedule(s, z(2026, 11, 18, 17), z(2026, 11, 19, 17))
    ] == [
        (z(2026, 11, 18, 17), "base", "layer:base"),
        (z(2026, 11, 19, 1), "night", "layer:nights"),  # 20:00 EST
        (z(2026, 11, 19, 13), "base", "layer:base"),  # 08:00 EST
    ]
    # Order matters: with nights below base, base (always staffed) hides it.
    flipped = Schedule("America/New_York", (nights, base))
    assert {x.source for x in final_schedule(flipped, z(2026, 11, 18), z(2026, 11, 20))} == {
        "layer:base"
    }


def test_overrides_win_over_every_layer():
    base = Layer("base", Turn("weeks", 1), datetime(2026, 1, 5, 9), ("base",))
    top = Layer("top", Turn("days", 1), datetime(2026, 1, 5, 9), ("top",))
    o = Override(z(2026, 11, 19, 2), z(2026, 11, 19, 4), "cover", ref=17)
    s = Schedule("America/New_York", (base, top), (o,))
    assert on_call(s, z(2026, 11, 19, 3)) == OnCall("cover", "override", z(2026, 11, 19, 4))
    assert on_call(s, z(2026, 11, 19, 1)) == OnCall("top", "layer:top", z(2026, 11, 19, 2))
    assert final_schedule(s, z(2026, 11, 19, 1), z(2026, 11, 19, 5)) == [
        Shift(z(2026, 11, 19, 1), z(2026, 11, 19, 2), "top", "layer:top"),
        Shift(z(2026, 11, 19, 2), z(2026, 11, 19, 4), "cover", "override"),
        Shift(z(2026, 11, 19, 4), z(2026, 11, 19, 5), "top", "layer:top"),
    ]


def test_override_for_the_person_already_on_call_is_still_an_override_shift():
    s = Schedule(
        "UTC",
        (Layer("base", Turn("days", 1), datetime(2026, 1, 1), ("a",)),),
        (Override(z(2026, 2, 1, 10), z(2026, 2, 1, 12), "a"),),
    )
    assert [
        (x.person, x.source) for x in final_schedule(s, z(2026, 2, 1, 9), z(2026, 2, 1, 13))
    ] == [("a", "layer:base"), ("a", "override"), ("a", "layer:base")]


def test_later_starting_override_wins_and_ties_go_to_the_later_in_the_tuple():
    base = Layer("base", Turn("weeks", 1), datetime(2026, 1, 5, 9), ("base",))
    t = z(2026, 11, 18, 12)
    first = Override(t, t + 4 * H, "first")
    second = Override(t + H, t + 2 * H, "second")
    s = Schedule("UTC", (base,), (second, first))  # tuple order must not matter here
    assert handoffs(s, t, t + 5 * H) == [
        (t, "first"),
        (t + H, "second"),
        (t + 2 * H, "first"),
        (t + 4 * H, "base"),
    ]
    tie_a, tie_b = Override(t, t + H, "tie_a"), Override(t, t + 2 * H, "tie_b")
    assert handoffs(Schedule("UTC", (base,), (tie_a, tie_b)), t, t + 3 * H) == [
        (t, "tie_b"),
        (t + 2 * H, "base"),
    ]
    assert handoffs(Schedule("UTC", (base,), (tie_b, tie_a)), t, t + 3 * H) == [
        (t, "tie_a"),
        (t + H, "tie_b"),
        (t + 2 * H, "base"),
    ]


def test_many_overrides_on_call_sees_only_the_covering_one():
    base = Layer("base", Turn("days", 1), datetime(2026, 1, 1), ("base",))
    long_one = Override(z(2026, 1, 1), z(2026, 12, 31), "long")
    shorts = tuple(
        Override(z(2026, 3, 1) + d * 24 * H, z(2026, 3, 1) + d * 24 * H + 2 * H, f"s{d}")
        for d in range(200)
    )
    s = Schedule("UTC", (base,), (long_one,) + shorts)
    assert on_call(s, z(2026, 5, 1, 1)) == OnCall("s61", "override", z(2026, 5, 1, 2))
    assert on_call(s, z(2026, 5, 1, 3)) == OnCall("long", "override", z(2026, 5, 2))


# --- Gaps, before the anchor, far future


def test_gaps_are_exactly_where_nobody_is():
    layer = Layer(
        "days",
        Turn("days", 1),
        datetime(2026, 1, 1, 9),
        ("a",),
        (Restriction(frozenset(range(7)), 540, 1020),),
    )
    cover = Override(z(2026, 5, 1, 20), z(2026, 5, 1, 22), "x")
    s = Schedule("UTC", (layer,), (cover,))
    assert gaps(s, z(2026, 5, 1, 12), z(2026, 5, 2, 12)) == [
        (z(2026, 5, 1, 17), z(2026, 5, 1, 20)),
        (z(2026, 5, 1, 22), z(2026, 5, 2, 9)),
    ]
    assert on_call(s, z(2026, 5, 1, 23)) == OnCall(None, None, z(2026, 5, 2, 9))
    assert gaps(Schedule("UTC", ()), z(2026, 1, 1), z(2026, 1, 2)) == [
        (z(2026, 1, 1), z(2026, 1, 2))
    ]
    assert on_call(Schedule("UTC", ()), z(2026, 1, 1)) == OnCall(None, None, None)
    assert (
        gaps(s, z(2026, 1, 1), z(2026, 1, 1)) == []
        and final_schedule(s, z(2026, 1, 1), z(2026, 1, 1)) == []
    )


def test_before_the_anchor_the_layer_has_nobody():
    s = rota("America/New_York", datetime(2026, 6, 1, 9))
    assert on_call(s, z(2026, 5, 1)) == OnCall(None, None, z(2026, 6, 1, 13))
    assert gaps(s, z(2026, 5, 31), z(2026, 6, 2)) == [(z(2026, 5, 31), z(2026, 6, 1, 13))]


def test_on_call_ten_years_after_the_anchor_is_exact():
    s = rota("America/New_York", datetime(2026, 1, 1, 9), people=("a", "b", "c"))
    days = (datetime(2036, 7, 1) - datetime(2026, 1, 1)).days  # 3834 daily turns, 3834 % 3 == 0
    assert on_call(s, z(2036, 7, 1, 18)) == OnCall(
        "abc"[days % 3], "layer:main", z(2036, 7, 2, 13)
    )  # 09:00 EDT
    weekly = rota(
        "America/New_York", datetime(2026, 1, 5, 9), people=("a", "b", "c", "d"), unit="weeks"
    )
    # Monday 2036-01-07 09:00 EST is 522 weeks on: turn 522, person 522 % 4 == 2.
    assert on_call(weekly, z(2036, 1, 7, 14)) == OnCall("c", "layer:main", z(2036, 1, 14, 14))
    assert on_call(weekly, z(2036, 1, 7, 13, 59)).person == "b"
    hourly = rota(
        "Australia/Lord_Howe", datetime(2026, 1, 1), people=tuple("abcdefg"), unit="hours", length=7
    )
    # 2036-03-03 03:03Z is 14:03 +11, 3714 days and 14 clock hours on: turn 89150 // 7 = 12735
    # (09:00-16:00 local), 12735 % 7 == 2.
    assert on_call(hourly, z(2036, 3, 3, 3, 3)) == OnCall("c", "layer:main", z(2036, 3, 3, 5))
    assert on_call(hourly, z(2036, 3, 2, 21, 59)).person == "b"  # 08:59 +11


def test_shifts_for_one_person():
    s = rota("UTC", datetime(2026, 1, 1, 9))
    # Turn 30 (a) runs Jan 31 09:00 - Feb 1 09:00; turn 31 (b); turn 32 (a).
    assert shifts_for(s, "a", z(2026, 2, 1), z(2026, 2, 4)) == [
        Shift(z(2026, 2, 1), z(2026, 2, 1, 9), "a", "layer:main"),
        Shift(z(2026, 2, 2, 9), z(2026, 2, 3, 9), "a", "layer:main"),
    ]


def test_results_are_utc_whatever_zone_the_query_uses():
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    s = rota("Australia/Sydney", datetime(2026, 1, 1, 9))
    result = on_call(s, datetime(2026, 2, 1, 12, tzinfo=ny))
    assert result.until.tzinfo is UTC
    assert all(
        x.start.tzinfo is UTC and x.end.tzinfo is UTC
        for x in final_schedule(s, datetime(2026, 2, 1, tzinfo=ny), datetime(2026, 2, 3, tzinfo=ny))
    )


# --- Invalid input: each raises its specific error (all RotaError, all ValueError) naming the field

ANCHOR = datetime(2026, 1, 1)


@pytest.mark.parametrize(
    "build, error, field",
    [
        (lambda: Schedule("Mars/Olympus", ()), UnknownTimeZoneError, "timezone"),
        (lambda: Schedule("../etc/passwd", ()), UnknownTimeZoneError, "timezone"),
        (lambda: Schedule("", ()), UnknownTimeZoneError, "timezone"),
        (lambda: Schedule("UTC", ("not a layer",)), InvalidLayerError, "layers[0]"),
        (lambda: Schedule("UTC", (), ("not an override",)), InvalidOverrideError, "overrides[0]"),
        (lambda: Layer("x", Turn("days", 1), ANCHOR, ()), EmptyLayerError, "participants"),
        (
            lambda: Layer("x", Turn("days", 1), ANCHOR, ("a", None)),
            InvalidLayerError,
            "participants[1]",
        ),
        (
            lambda: Layer("x", Turn("days", 1), ANCHOR, (["unhashable"],)),
            InvalidLayerError,
            "participants[0]",
        ),
        (lambda: Layer("", Turn("days", 1), ANCHOR, ("a",)), InvalidLayerError, "name"),
        (
            lambda: Layer("x", Turn("days", 1), datetime(2026, 1, 1, tzinfo=UTC), ("a",)),
            InvalidLayerError,
            "start",
        ),
        (lambda: Layer("x", "daily", ANCHOR, ("a",)), InvalidTurnError, "turn"),
        (
            lambda: Layer("x", Turn("days", 1), ANCHOR, ("a",), ("9-5",)),
            InvalidRestrictionError,
            "restrictions[0]",
        ),
        (lambda: Turn("days", 0), InvalidTurnError, "length"),
        (lambda: Turn("days", -2), InvalidTurnError, "length"),
        (lambda: Turn("days", 1.5), InvalidTurnError, "length"),
        (lambda: Turn("fortnights", 1), InvalidTurnError, "unit"),
        (lambda: Turn("weeks", 524), InvalidTurnError, "length"),
        (lambda: Turn("hours", 10**9), InvalidTurnError, "length"),
        (
            lambda: Layer("x", Turn("days", 1), datetime(9999, 12, 31), ("a",)),
            InvalidLayerError,
            "start",
        ),
        (lambda: Override(z(9999, 1, 1), z(9999, 1, 2), "a"), InvalidWindowError, "override.start"),
        (lambda: on_call(rota("UTC", ANCHOR), z(9999, 12, 31)), InvalidWindowError, "at"),
        (
            lambda: gaps(rota("UTC", ANCHOR), z(2026, 1, 1), z(9999, 12, 31)),
            InvalidWindowError,
            "end",
        ),
        (lambda: Restriction(frozenset({1}), 600, 600), InvalidRestrictionError, "end_minute"),
        (lambda: Restriction(frozenset(), 0, 60), InvalidRestrictionError, "days"),
        (lambda: Restriction(frozenset({7}), 0, 60), InvalidRestrictionError, "days"),
        (lambda: Restriction(frozenset({1}), 1440, 60), InvalidRestrictionError, "start_minute"),
        (lambda: Restriction(frozenset({1}), 0, 0), InvalidRestrictionError, "end_minute"),
        (lambda: Restriction(frozenset({1}), 0, 1441), InvalidRestrictionError, "end_minute"),
        (
            lambda: Override(datetime(2026, 1, 1), z(2026, 1, 2), "a"),
            NaiveDatetimeError,
            "override.start",
        ),
        (
            lambda: Override(z(2026, 1, 1), datetime(2026, 1, 2), "a"),
            NaiveDatetimeError,
            "override.end",
        ),
        (lambda: Override(z(2026, 1, 2), z(2026, 1, 1), "a"), InvalidOverrideError, "override.end"),
        (lambda: Override(z(2026, 1, 1), z(2026, 1, 1), "a"), InvalidOverrideError, "override.end"),
        (
            lambda: Override(z(2026, 1, 1), z(2026, 1, 2), None),
            InvalidOverrideError,
            "override.person",
        ),
        (lambda: on_call(rota("UTC", ANCHOR), datetime(2026, 1, 1)), NaiveDatetimeError, "at"),
        (
            lambda: final_schedule(rota("UTC", ANCHOR), datetime(2026, 1, 1), z(2026, 1, 2)),
            NaiveDatetimeError,
            "start",
        ),
        (
            lambda: gaps(rota("UTC", ANCHOR), z(2026, 1, 1), datetime(2026, 1, 2)),
            NaiveDatetimeError,
            "end",
        ),
        (
            lambda: shifts_for(rota("UTC", ANCHOR), "a", datetime(2026, 1, 1), z(2026, 1, 2)),
            NaiveDatetimeError,
            "start",
        ),
        (
            lambda: final_schedule(rota("UTC", ANCHOR), z(2026, 1, 2), z(2026, 1, 1)),
            InvalidWindowError,
            "end",
        ),
    ],
)
def test_invalid_input_raises_its_specific_error(build, error, field):
    with pytest.raises(error) as raised:
        build()
    assert isinstance(raised.value, RotaError) and isinstance(raised.value, ValueError)
    assert field in str(raised.value)


def test_the_edges_of_the_supported_calendar_do_not_overflow():
    s = Schedule(
        "Pacific/Kiritimati",
        (Layer("w", Turn("weeks", 523), datetime(8999, 12, 31, 23), ("a", "b")),),
        (Override(z(1000, 1, 1), z(8999, 12, 30), "x"),),
    )
    assert final_schedule(s, z(8999, 12, 30), z(8999, 12, 31, 23)) == [
        Shift(z(8999, 12, 31, 9), z(8999, 12, 31, 23), "a", "layer:w")
    ]  # 23:00 at +14:00
    assert on_call(s, z(8999, 12, 31, 23)) == OnCall("a", "layer:w", None)
    assert on_call(s, z(1000, 1, 1)) == OnCall(
        "x", "override", None
    )  # ends beyond the 400-day horizon


def test_models_are_frozen():
    turn = Turn("days", 1)
    with pytest.raises(AttributeError):
        turn.length = 2  # type: ignore[misc]
