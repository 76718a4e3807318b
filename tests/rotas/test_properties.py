"""Properties of the rota engine over random schedules (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rotas import (
    Layer,
    Override,
    Restriction,
    Schedule,
    Turn,
    final_schedule,
    gaps,
    on_call,
    shifts_for,
)
from tests.rotas import reference

UTC = UTC
ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "America/Santiago",
    "UTC",
]
BASE = datetime(2026, 1, 1, tzinfo=UTC)
# Windows start within two years of BASE; anchors from mid-2025 so some
# windows begin before a layer's anchor.
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def restrictions(draw):
    start = draw(st.integers(0, 1439))
    end = draw(st.integers(1, 1440).filter(lambda e: e != start))
    return Restriction(draw(st.frozensets(st.integers(0, 6), min_size=1)), start, end)


@st.composite
def layers(draw, index):
    unit = draw(st.sampled_from(["hours", "days", "weeks"]))
    length = draw(st.integers(1, 36 if unit == "hours" else 3))
    # Anchors on the quarter hour, deliberately including 01:00-03:00 local
    # handoffs that fall into DST gaps and folds.
    anchor = datetime(2025, 6, 1) + timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 400)))
    people = tuple(draw(st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=5)))
    rules = tuple(draw(st.lists(restrictions(), max_size=2)))
    return Layer(f"L{index}", Turn(unit, length), anchor, people, rules)


@st.composite
def cases(draw):
    tz = draw(st.sampled_from(ZONES))
    stack = tuple(draw(layers(i)) for i in range(draw(st.integers(1, 4))))
    start = BASE + timedelta(minutes=30 * draw(st.integers(0, 2 * 24 * 365)))
    end = start + timedelta(hours=draw(st.integers(1, 24 * 60)))
    overrides = []
    for _ in range(draw(st.integers(0, 4))):
        o_start = start + timedelta(minutes=30 * draw(st.integers(-48, 48 * 30)))
        length = timedelta(minutes=30 * draw(st.integers(1, 200)))
        overrides.append(Override(o_start, o_start + length, draw(st.sampled_from("xyz"))))
    return Schedule(tz, stack, tuple(overrides)), start, end


def probes(start, end, fractions):
    return [start + (end - start) * f for f in fractions]


def spread(items, most=30):
    """At most `most` items, evenly spaced, always keeping the first and last."""
    if len(items) <= most:
        return list(items)
    step = (len(items) - 1) / (most - 1)
    return [items[round(i * step)] for i in range(most)]


@PROPERTY
@given(cases())
def test_final_schedule_and_gaps_tile_the_window(case):
    schedule, start, end = case
    shifts = final_schedule(schedule, start, end)
    holes = gaps(schedule, start, end)
    assert all(
        s.start.utcoffset() == timedelta(0) and s.end.utcoffset() == timedelta(0) for s in shifts
    )
    assert [s.start for s in shifts] == sorted(s.start for s in shifts)
    for a, b in zip(shifts, shifts[1:]):
        assert a.end <= b.start  # never overlapping
        assert not (a.end == b.start and a.person == b.person and a.source == b.source)  # merged
    for a, b in zip(holes, holes[1:]):
        assert a[1] < b[0]  # gaps are maximal
    pieces = sorted([(s.start, s.end) for s in shifts] + holes)
    assert pieces[0][0] == start and pieces[-1][1] == end
    for (a_start, a_end), (b_start, _) in zip(pieces, pieces[1:]):
        assert a_start < a_end and a_end == b_start  # no overlap, no hole
    assert pieces[-1][0] < pieces[-1][1]


@PROPERTY
@given(cases(), st.lists(st.floats(0, 1), min_size=3, max_size=6))
def test_on_call_agrees_with_final_schedule(case, fractions):
    schedule, start, end = case
    shifts = final_schedule(schedule, start, end)
    holes = gaps(schedule, start, end)
    for at in (
        spread([s.start for s in shifts])
        + spread([h[0] for h in holes], 10)
        + probes(start, end, fractions)
    ):
        if not start <= at < end:
            continue
        result = on_call(schedule, at)
        shift = next((s for s in shifts if s.start <= at < s.end), None)
        if shift is not None:
            assert (result.person, result.source) == (shift.person, shift.source)
            if shift.end < end:
                assert result.until == shift.end
        else:
            assert (result.person, result.source) == (None, None)
            following = next((s for s in shifts if s.start > at), None)
            if following is not None:
                assert result.until == following.start


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.lists(st.floats(0, 1), min_size=2, max_size=4))
def test_engine_matches_an_independent_reference_model(case, fractions):
    """Who is on call, by a slow model of the written rules, at window
    boundaries, shift boundaries (handoffs) and random instants."""
    schedule, start, end = case
    shifts = final_schedule(schedule, start, end)
    points = (
        [start] + [s.start for s in shifts[:4]] + [s.end - timedelta(seconds=1) for s in shifts[:4]]
    )
    for at in points + probes(start, end, fractions):
        if start <= at < end:
            expected = reference.who(schedule, at)
            result = on_call(schedule, at)
            assert (result.person, result.source) == expected, at


@PROPERTY
@given(cases())
def test_overrides_always_win_during_their_span(case):
    schedule, start, end = case
    for override in schedule.overrides:
        for at in (
            override.start,
            override.start + (override.end - override.start) / 2,
            override.end - timedelta(microseconds=1),
        ):
            assert on_call(schedule, at).source == "override"
    for shift in final_schedule(schedule, start, end):
        if any(o.start <= shift.start and shift.end <= o.end for o in schedule.overrides):
            assert shift.source == "override"
    covered = [
        (max(o.start, start), min(o.end, end))
        for o in schedule.overrides
        if o.end > start and o.start < end
    ]
    for lo, hi in covered:
        assert not any(g_lo < hi and lo < g_hi for g_lo, g_hi in gaps(schedule, start, end))


@PROPERTY
@given(cases())
def test_a_restricted_layer_never_yields_someone_outside_its_windows(case):
    schedule, start, end = case
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(schedule.timezone)
    by_source = {f"layer:{layer.name}": layer for layer in schedule.layers}
    checked = 0
    for shift in final_schedule(schedule, start, end):
        layer = by_source.get(shift.source)
        if layer is None or not layer.restrictions:
            continue
        for at in (
            shift.start,
            shift.start + (shift.end - shift.start) / 2,
            shift.end - timedelta(seconds=1),
        ):
            assert reference.in_windows(layer, tz, at), (shift, at)
        checked += 1
        if checked > 12:
            break


@PROPERTY
@given(cases(), st.sampled_from("abcxyz"))
def test_shifts_for_is_that_persons_part_of_the_final_schedule(case, person):
    schedule, start, end = case
    assert shifts_for(schedule, person, start, end) == [
        s for s in final_schedule(schedule, start, end) if s.person == person
    ]


# Each zone's 2026 transitions (UTC instant), so DST-focused cases can put
# handoffs and window edges right in the gap or the fold.
TRANSITIONS = {
    "America/New_York": [datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)],
    "Europe/London": [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)],
    "Australia/Sydney": [
        datetime(2026, 4, 4, 16, tzinfo=UTC),
        datetime(2026, 10, 3, 16, tzinfo=UTC),
    ],
    "Australia/Lord_Howe": [
        datetime(2026, 4, 4, 15, tzinfo=UTC),
        datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
    ],
    "America/Santiago": [datetime(2026, 4, 5, 3, tzinfo=UTC), datetime(2026, 9, 6, 4, tzinfo=UTC)],
}


@st.composite
def dst_cases(draw):
    from zoneinfo import ZoneInfo

    tz_name = draw(st.sampled_from(sorted(TRANSITIONS)))
    tz = ZoneInfo(tz_name)
    transition = draw(st.sampled_from(TRANSITIONS[tz_name]))
    local_wall = transition.astimezone(tz).replace(tzinfo=None)  # just after the change
    near = lambda: draw(st.integers(-6, 6)) * 15  # noqa: E731 - minutes either side of the change
    stack = []
    for index in range(draw(st.integers(1, 3))):
        unit = draw(st.sampled_from(["days", "days", "weeks", "hours"]))
        anchor = local_wall - timedelta(days=draw(st.integers(0, 20)), minutes=-near())
        anchor = anchor.replace(second=0, microsecond=0)
        rules = ()
        if draw(st.booleans()):
            minute_of_day = (local_wall.hour * 60 + local_wall.minute + near()) % 1440
            other = (minute_of_day + draw(st.integers(1, 1439))) % 1440
            opens, closes = (
                (minute_of_day, other or 1440)
                if draw(st.booleans())
                else (other, minute_of_day or 1440)
            )
            if opens != closes:
                rules = (Restriction(frozenset(range(7)), opens, closes),)
        people = tuple(draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=4)))
        stack.append(Layer(f"L{index}", Turn(unit, draw(st.integers(1, 2))), anchor, people, rules))
    start = transition - timedelta(hours=draw(st.integers(0, 72)))
    end = transition + timedelta(hours=draw(st.integers(1, 72)))
    return Schedule(tz_name, tuple(stack)), start, end


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dst_cases())
def test_handoffs_and_windows_around_real_transitions_match_the_reference(case):
    schedule, start, end = case
    shifts = final_schedule(schedule, start, end)
    holes = gaps(schedule, start, end)
    edges = sorted({s.start for s in shifts} | {s.end for s in shifts} | {h[0] for h in holes})
    for edge in spread(edges, 16):
        for at in (edge - timedelta(seconds=1), edge):
            if start <= at < end:
                result = on_call(schedule, at)
                assert (result.person, result.source) == reference.who(schedule, at), at


@st.composite
def single_layer_cases(draw):
    """One unrestricted layer of 3-5 distinct people (so every turn that lasts
    any time is its own shift), windows often across a real transition."""
    tz_name = draw(st.sampled_from(sorted(TRANSITIONS)))
    unit = draw(st.sampled_from(["hours", "hours", "hours", "days", "weeks"]))
    length = draw(st.integers(1, 13 if unit == "hours" else 2))
    transition = draw(st.sampled_from(TRANSITIONS[tz_name]))
    anchor = datetime(2026, 1, 1) + timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 300)))
    layer = Layer("L", Turn(unit, length), anchor, tuple("abcde"[: draw(st.integers(3, 5))]))
    start = transition - timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 5)))
    end = transition + timedelta(minutes=15 * draw(st.integers(1, 4 * 24 * 5)))
    return Schedule(tz_name, (layer,)), start, end


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(single_layer_cases())
def test_turns_abut_and_hand_off_at_the_anchors_local_time_plus_whole_turns(case):
    """From the anchor on there is never a hole, and the shifts are exactly the
    reference's handoffs: anchor wall-clock time + k turns, resolved."""
    from zoneinfo import ZoneInfo

    schedule, start, end = case
    layer, tz = schedule.layers[0], ZoneInfo(schedule.timezone)
    begin = max(start, reference.turn_start(layer, tz, 0))
    if begin >= end:
        assert final_schedule(schedule, start, end) == []
        return
    assert gaps(schedule, begin, end) == []
    k = reference.turn_index(layer, tz, begin)
    expected = [(begin, layer.participants[k % len(layer.participants)])]
    while (handoff := reference.turn_start(layer, tz, k + 1)) < end:
        k += 1
        person = layer.participants[k % len(layer.participants)]
        if handoff == expected[-1][0]:
            expected[-1] = (handoff, person)  # the turn before lay wholly in a skipped hour
        else:
            expected.append((handoff, person))
    assert [(x.start, x.person) for x in final_schedule(schedule, begin, end)] == expected
