"""A slow, deliberately different model of the rota rules, used as an oracle.

It shares no code with rotas/: wall-clock resolution here is by definition
("the first instant whose wall clock reads L or later"), found by stepping
through UTC; handoff k is the anchor's clock reading plus k turns counted in
hours of clock time, and the turn index comes from a UTC-elapsed estimate plus
a check of neighbours rather than from the local wall clock. Valid for whole-minute
local times in zones whose transitions fall on whole minutes (all zones the
tests use, since 1970).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UTC = UTC
COARSE = timedelta(minutes=15)
FINE = timedelta(minutes=1)


def wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def resolve(local: datetime, tz: ZoneInfo) -> datetime:
    """First whole-minute instant whose wall clock in tz reads `local` or later."""
    # 16 h before `local` read as UTC, every zone's clock is still before `local`.
    probe = local.replace(tzinfo=UTC) - timedelta(hours=16)
    assert wall(probe, tz) < local
    while wall(probe + COARSE, tz) < local:
        probe += COARSE
    while wall(probe, tz) < local:
        probe += FINE
    return probe


HOURS_PER_UNIT = {"hours": 1, "days": 24, "weeks": 168}


def turn_start(layer, tz: ZoneInfo, k: int) -> datetime:
    """Handoff k: the anchor's wall-clock reading plus k turns of clock time
    (every unit counted in hours of the local clock), then resolved."""
    hours = layer.turn.length * HOURS_PER_UNIT[layer.turn.unit]
    return resolve(layer.start + timedelta(hours=hours * k), tz)


def layer_person(layer, tz: ZoneInfo, at: datetime):
    if at < turn_start(layer, tz, 0):
        return None
    if not in_windows(layer, tz, at):
        return None
    return layer.participants[turn_index(layer, tz, at) % len(layer.participants)]


def turn_index(layer, tz: ZoneInfo, at: datetime) -> int:
    """The turn current at `at` (at or after the anchor)."""
    first = turn_start(layer, tz, 0)
    hours = layer.turn.length * HOURS_PER_UNIT[layer.turn.unit]
    # UTC time elapsed differs from clock time elapsed by the zone's offset
    # change (DST: an hour or less), so the estimate is within a few turns.
    estimate = int((at - first) / timedelta(hours=hours))
    candidates = [
        k for k in range(max(estimate - 3, 0), estimate + 4) if turn_start(layer, tz, k) <= at
    ]
    k = max(
        candidates
    )  # the last handoff at or before `at` (a turn lasting no time is never current)
    assert turn_start(layer, tz, k + 1) > at
    return k


def in_windows(layer, tz: ZoneInfo, at: datetime) -> bool:
    if not layer.restrictions:
        return True
    today = at.astimezone(UTC).date()
    for offset in range(-3, 2):
        day: date = today + timedelta(days=offset)
        midnight = datetime.combine(day, time())
        for r in layer.restrictions:
            if day.weekday() not in r.days:
                continue
            opens = midnight + timedelta(minutes=r.start_minute)
            end_day = midnight + timedelta(days=1 if r.end_minute <= r.start_minute else 0)
            closes = end_day + timedelta(minutes=r.end_minute)
            if resolve(opens, tz) <= at < resolve(closes, tz):
                return True
    return False


def who(schedule, at: datetime):
    """(person, source) at `at` by the written rules, or (None, None)."""
    covering = [(o.start, i, o) for i, o in enumerate(schedule.overrides) if o.start <= at < o.end]
    if covering:
        return max(covering, key=lambda c: (c[0], c[1]))[2].person, "override"
    tz = ZoneInfo(schedule.timezone)
    for layer in reversed(schedule.layers):
        person = layer_person(layer, tz, at)
        if person is not None:
            return person, f"layer:{layer.name}"
    return None, None
