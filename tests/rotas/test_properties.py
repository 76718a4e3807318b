"""Properties of the rota engine over random schedules (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings, strategies as st

from rotas import Layer, Override, Restriction, Schedule, Turn, final_schedule, gaps, on_call

UTC = timezone.utc
ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Australia/Sydney", "UTC"]
BASE = datetime(2026, 1, 1, tzinfo=UTC)

@st.composite
def restriction(draw):
    start = draw(st.integers(0, 1439))
    end = draw(st.integers(1, 1440).filter(lambda e: e != start))
    return Restriction(draw(st.frozensets(st.integers(0, 6), min_size=1)), start, end)


@st.composite
def layer(draw, index):
    unit = draw(st.sampled_from(["hours", "days", "weeks"]))
    length = draw(st.integers(1, 36 if unit == "hours" else 3))
    anchor = datetime(2025, 6, 1) + timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 400)))
    people = tuple(draw(st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=5)))
    rules = tuple(draw(st.lists(restriction(), max_size=2)))
    return Layer(f"L{index}", Turn(unit, length), anchor, people, rules)


@st.composite
def schedule_and_window(draw):
    tz = draw(st.sampled_from(ZONES))
    layers = tuple(draw(layer(i)) for i in range(draw(st.integers(1, 4))))
    start = BASE + timedelta(minutes=30 * draw(st.integers(0, 2 * 24 * 365)))
    end = start + timedelta(hours=draw(st.integers(1, 24 * 60)))
    overrides = []
    for _ in range(draw(st.integers(0, 3))):
        o_start = start + timedelta(minutes=30 * draw(st.integers(-48, 48 * 30)))
        overrides.append(Override(o_start, o_start + timedelta(minutes=30 * draw(st.integers(1, 200))),
                                  draw(st.sampled_from("xyz"))))
    return Schedule(tz, layers, tuple(overrides)), start, end


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(schedule_and_window())
def test_final_schedule_and_gaps_tile_the_window(case):
    schedule, start, end = case
    shifts = final_schedule(schedule, start, end)
    holes = gaps(schedule, start, end)
    pieces = sorted([(s.start, s.end) for s in shifts] + holes)
    assert pieces[0][0] == start and pieces[-1][1] == end
    for (a_start, a_end), (b_start, b_end) in zip(pieces, pieces[1:]):
        assert a_start < a_end and a_end == b_start  # no overlap, no hole
    for a, b in zip(shifts, shifts[1:]):
        assert a.end <= b.start
        assert not (a.end == b.start and a.person == b.person and a.source == b.source)  # merged


@PROPERTY
@given(schedule_and_window(), st.lists(st.floats(0, 1), min_size=3, max_size=6))
def test_on_call_agrees_with_final_schedule(case, fractions):
    schedule, start, end = case
    shifts = final_schedule(schedule, start, end)
    probes = [s.start for s in shifts] + [start + (end - start) * f for f in fractions]
    for at in probes:
        if not start <= at < end:
            continue
        expected = next((s for s in shifts if s.start <= at < s.end), None)
        result = on_call(schedule, at)
        if expected is None:
            assert result.person is None
        else:
            assert (result.person, result.source) == (expected.person, expected.source)
            if expected.end < end:
                assert result.until == expected.end


@PROPERTY
@given(schedule_and_window())
def test_overrides_always_win(case):
    schedule, start, end = case
    for override in schedule.overrides:
        mid = override.start + (override.end - override.start) / 2
        result = on_call(schedule, mid)
        assert result.source == "override"
    for shift in final_schedule(schedule, start, end):
        if any(o.start <= shift.start and shift.end <= o.end for o in schedule.overrides):
            assert shift.source == "override"


def _inside(layer_, tz, at) -> bool:
    from zoneinfo import ZoneInfo

    local = at.astimezone(ZoneInfo(tz))
    for r in layer_.restrictions:
        for back in (0, 1):
            day = (local - timedelta(days=back)).date()
            if day.weekday() not in r.days:
                continue
            offset = (local.replace(tzinfo=None) - datetime.combine(day, datetime.min.time())).total_seconds() / 60
            if r.start_minute <= offset < r.start_minute + r.length_minutes:
                return True
    return False


@PROPERTY
@given(schedule_and_window())
def test_a_restricted_layer_never_yields_someone_outside_its_windows(case):
    schedule, start, end = case
    for shift in final_schedule(schedule, start, end):
        if shift.source == "override":
            continue
        layer_ = next(l for l in schedule.layers if f"layer:{l.name}" == shift.source)
        if not layer_.restrictions:
            continue
        for at in (shift.start, shift.start + (shift.end - shift.start) / 2, shift.end - timedelta(seconds=1)):
            assert _inside(layer_, schedule.timezone, at), (shift, at)
