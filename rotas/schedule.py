"""Queries over a schedule: the final (merged) schedule, gaps, who is on call.

Overrides win over every layer; among overlapping overrides the later-starting
one wins (a tie: the later in the tuple). Among layers, the later (higher)
layer wins wherever it has someone.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
from typing import Hashable

from rotas.layer import LayerClock
from rotas.model import OnCall, Override, Schedule, Shift
from rotas.walltime import require_aware, zone

OVERRIDE = "override"
# How far on_call looks for the end of a shift or the end of a gap.
HORIZON = timedelta(days=400)


def _clocks(schedule: Schedule) -> list[LayerClock]:
    tz = zone(schedule.timezone)
    return [LayerClock(layer, tz) for layer in schedule.layers]


def _window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = require_aware(start, "start"), require_aware(end, "end")
    if end < start:
        from rotas.errors import RotaError

        raise RotaError("end: must not be before start")
    return start, end


def _flatten_overrides(overrides: tuple[Override, ...], start: datetime, end: datetime):
    """Non-overlapping (start, end, person) pieces where overrides apply."""
    relevant = [(o.start, i, o) for i, o in enumerate(overrides) if o.end > start and o.start < end]
    if not relevant:
        return []
    points = sorted({max(o.start, start) for _, _, o in relevant} | {min(o.end, end) for _, _, o in relevant})
    pieces = []
    for lo, hi in zip(points, points[1:]):
        covering = [(s, i, o) for s, i, o in relevant if o.start <= lo and o.end >= hi]
        if covering:
            pieces.append((lo, hi, max(covering, key=lambda c: (c[0], c[1]))[2].person))
    return pieces


def final_schedule(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    start, end = _window(start, end)
    if start == end:
        return []
    # Timelines from the highest priority down: overrides, then layers last→first.
    timelines = [(OVERRIDE, _flatten_overrides(schedule.overrides, start, end))]
    for clock in reversed(_clocks(schedule)):
        timelines.append((clock.source, clock.segments(start, end)))
    points = {start, end}
    for _, pieces in timelines:
        for lo, hi, _ in pieces:
            points.add(lo)
            points.add(hi)
    ordered = sorted(points)
    cursors = [0] * len(timelines)
    shifts: list[Shift] = []
    for lo, hi in zip(ordered, ordered[1:]):
        winner = None
        for index, (source, pieces) in enumerate(timelines):
            c = cursors[index]
            while c < len(pieces) and pieces[c][1] <= lo:
                c += 1
            cursors[index] = c
            if c < len(pieces) and pieces[c][0] <= lo:
                winner = (pieces[c][2], source)
                break
        if winner is None:
            continue
        person, source = winner
        last = shifts[-1] if shifts else None
        if last and last.end == lo and last.person == person and last.source == source:
            shifts[-1] = Shift(last.start, hi, person, source)
        else:
            shifts.append(Shift(lo, hi, person, source))
    return shifts


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    start, end = _window(start, end)
    holes, cursor = [], start
    for shift in final_schedule(schedule, start, end):
        if shift.start > cursor:
            holes.append((cursor, shift.start))
        cursor = shift.end
    if cursor < end:
        holes.append((cursor, end))
    return holes


def shifts_for(schedule: Schedule, person: Hashable, start: datetime, end: datetime) -> list[Shift]:
    return [s for s in final_schedule(schedule, start, end) if s.person == person]


def _who_at(schedule: Schedule, clocks: list[LayerClock], at: datetime):
    starts = sorted((o.start, i) for i, o in enumerate(schedule.overrides))
    # Only overrides that start at or before `at` can cover it.
    upto = bisect.bisect_right(starts, (at, len(schedule.overrides)))
    covering = [(s, i) for s, i in starts[:upto] if schedule.overrides[i].end > at]
    if covering:
        return schedule.overrides[max(covering)[1]].person, OVERRIDE
    for clock in reversed(clocks):
        person = clock.who_at(at)
        if person is not None:
            return person, clock.source
    return None, None


def on_call(schedule: Schedule, at: datetime) -> OnCall:
    """Who is on call at `at`, and until when the final schedule next changes
    (for nobody: when somebody next comes on). None beyond a 400-day horizon."""
    at = require_aware(at, "at")
    person, source = _who_at(schedule, _clocks(schedule), at)
    # Look ahead in growing windows so a short shift costs a short window.
    for span in (timedelta(days=2), timedelta(days=16), timedelta(days=64), HORIZON):
        shifts = final_schedule(schedule, at, at + span)
        if person is None:
            if shifts:
                return OnCall(None, None, shifts[0].start)
            continue
        first = shifts[0]
        if first.end < at + span:
            return OnCall(person, source, first.end)
    return OnCall(person, source, None)
