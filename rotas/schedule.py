"""Queries over a schedule: the final (merged) schedule, gaps, who is on call.

Precedence, highest first: overrides (among overlapping ones the
later-starting wins; a tie goes to the later in the tuple), then layers from
the last (highest) to the first, each only where it has someone.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Hashable
from datetime import datetime, timedelta

from rotas.errors import InvalidWindowError
from rotas.layer import LayerClock
from rotas.model import OnCall, Override, Schedule, Shift
from rotas.walltime import require_aware, zone

OVERRIDE = "override"
# How far on_call looks ahead for the end of a shift or of a gap.
HORIZON = timedelta(days=400)
# on_call looks ahead in growing windows so a short shift costs a short window.
LOOKAHEAD = (timedelta(days=2), timedelta(days=16), timedelta(days=64), HORIZON)

Piece = tuple[datetime, datetime, Hashable]  # [start, end) and who


def _clocks(schedule: Schedule) -> list[LayerClock]:
    clocks = schedule._memo.get("clocks")
    if clocks is None:
        tz = zone(schedule.timezone)
        clocks = schedule._memo["clocks"] = [LayerClock(layer, tz) for layer in schedule.layers]
    return clocks


def _period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = require_aware(start, "start"), require_aware(end, "end")
    if end < start:
        raise InvalidWindowError(f"end: must not be before start ({start} .. {end})")
    return start, end


def _back(at: datetime, span: timedelta) -> datetime:
    """at - span, clamped so a very long override cannot underflow the calendar."""
    room = at - datetime.min.replace(tzinfo=at.tzinfo)
    return at - span if span < room else datetime.min.replace(tzinfo=at.tzinfo)


def _overrides_near(
    schedule: Schedule, start: datetime, end: datetime
) -> list[tuple[datetime, int, Override]]:
    """Overrides overlapping [start, end), in precedence order (lowest first).
    Anything starting before start - longest override has already ended."""
    by_start = schedule._by_start
    lo = bisect.bisect_left(by_start, _back(start, schedule._longest_override), key=lambda e: e[0])
    hi = bisect.bisect_left(by_start, end, key=lambda e: e[0])
    return [entry for entry in by_start[lo:hi] if entry[2].end > start]


def _override_pieces(schedule: Schedule, start: datetime, end: datetime) -> list[Piece]:
    """Non-overlapping pieces in [start, end) where an override applies, each
    carrying the winning (latest-starting) override's person."""
    relevant = _overrides_near(schedule, start, end)
    if not relevant:
        return []
    points = sorted(
        {max(s, start) for s, _, _ in relevant} | {min(o.end, end) for _, _, o in relevant}
    )
    pieces: list[Piece] = []
    # `relevant` is in precedence order, so its position is the precedence:
    # a max-heap of active overrides on -position, ended ones dropped lazily.
    active: list[tuple[int, Override]] = []
    nxt = 0
    for lo, hi in zip(points, points[1:]):
        while nxt < len(relevant) and max(relevant[nxt][0], start) <= lo:
            heapq.heappush(active, (-nxt, relevant[nxt][2]))
            nxt += 1
        while active and active[0][1].end <= lo:
            heapq.heappop(active)
        if active:
            pieces.append((lo, hi, active[0][1].person))
    return pieces


def _sweep(timelines: list[tuple[str, list[Piece]]], start: datetime, end: datetime) -> list[Shift]:
    """Merge timelines given highest priority first into final shifts."""
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
        if last is not None and last.end == lo and last.person == person and last.source == source:
            shifts[-1] = Shift(last.start, hi, person, source)
        else:
            shifts.append(Shift(lo, hi, person, source))
    return shifts


def _final(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    if start >= end:
        return []
    timelines = [(OVERRIDE, _override_pieces(schedule, start, end))]
    for clock in reversed(_clocks(schedule)):
        timelines.append((clock.source, clock.segments(start, end)))
    return _sweep(timelines, start, end)


def final_schedule(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call over [start, end): sorted, non-overlapping shifts, clipped
    to the window; adjacent pieces with the same person and source are merged."""
    start, end = _period(start, end)
    return _final(schedule, start, end)


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Maximal intervals in [start, end) where nobody is on call."""
    start, end = _period(start, end)
    holes, cursor = [], start
    for shift in _final(schedule, start, end):
        if shift.start > cursor:
            holes.append((cursor, shift.start))
        cursor = shift.end
    if cursor < end:
        holes.append((cursor, end))
    return holes


def shifts_for(schedule: Schedule, person: Hashable, start: datetime, end: datetime) -> list[Shift]:
    """`person`'s final shifts in [start, end) (what they must actually cover)."""
    start, end = _period(start, end)
    return [s for s in _final(schedule, start, end) if s.person == person]


def _override_at(schedule: Schedule, at: datetime) -> Override | None:
    by_start = schedule._by_start
    upto = bisect.bisect_right(by_start, at, key=lambda e: e[0])
    floor = _back(at, schedule._longest_override)
    # Walk back from the latest start <= at: the first that still covers `at`
    # wins; anything starting before `floor` has certainly ended.
    for index in range(upto - 1, -1, -1):
        s, _, override = by_start[index]
        if s < floor:
            break
        if override.end > at:
            return override
    return None


def _who_at(schedule: Schedule, at: datetime) -> tuple[Hashable | None, str | None]:
    override = _override_at(schedule, at)
    if override is not None:
        return override.person, OVERRIDE
    for clock in reversed(_clocks(schedule)):
        person = clock.who_at(at)
        if person is not None:
            return person, clock.source
    return None, None


def on_call(schedule: Schedule, at: datetime) -> OnCall:
    """Who is on call at `at`, and until when the final schedule next changes
    person or source; for nobody, when somebody next comes on. `until` is None
    when that is beyond HORIZON."""
    at = require_aware(at, "at")
    person, source = _who_at(schedule, at)
    for span in LOOKAHEAD:
        shifts = _final(schedule, at, at + span)
        if person is None:
            if shifts:
                return OnCall(None, None, shifts[0].start)
            continue
        first = shifts[0]
        if first.end < at + span:
            return OnCall(person, source, first.end)
    return OnCall(person, source, None)
