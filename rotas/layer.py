"""One layer's timeline: turns (who) masked by restriction windows (when).

Turn k of a layer starts at handoff k: the anchor's local wall-clock time
plus k turn lengths of local clock time (hours, days or weeks alike),
resolved to an instant by walltime.to_instant. So a 12-hour layer anchored at
08:00 hands off at 08:00 and 20:00 all year; the turn across a DST change is
shorter or longer by the change, and an hourly turn lying wholly inside a
skipped hour lasts no time at all (its holder is passed over that once).
Resolution never goes backwards, so turns abut: no gap, no overlap. The turn
index at an instant is computed arithmetically from its local wall-clock
reading, so the cost never depends on how long ago the rota started.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rotas.model import Layer, Restriction
from rotas.walltime import to_instant

UNIT_DAYS = {"days": 1, "weeks": 7}


class LayerClock:
    """A layer placed in its schedule's zone: built once per Schedule and
    cached there, so the anchor is resolved once, not per query."""

    def __init__(self, layer: Layer, tz: ZoneInfo):
        self.layer = layer
        self.tz = tz
        self.source = f"layer:{layer.name}"
        self.anchor = to_instant(layer.start, tz)
        unit, length = layer.turn.unit, layer.turn.length
        # One turn of local clock time: naive datetime arithmetic is wall-clock arithmetic.
        self.step = (
            timedelta(hours=length) if unit == "hours" else timedelta(days=length * UNIT_DAYS[unit])
        )
        # A rota of one person (e.g. a supervisor fallback) never hands off:
        # no need to enumerate its turns at all.
        distinct = set(layer.participants)
        self.only = layer.participants[0] if len(distinct) == 1 else None

    # -- turns
    def turn_start(self, k: int) -> datetime:
        return to_instant(self.layer.start + self.step * k, self.tz)

    def turn_index(self, at: datetime) -> int:
        """The largest k with turn_start(k) <= at (negative before the anchor),
        so never a turn that lasts no time."""
        local = at.astimezone(self.tz).replace(tzinfo=None)
        k = (local - self.layer.start) // self.step
        # The wall clock is a guess within one turn (it reads earlier than the
        # handoffs already passed during a repeated hour): settle on instants.
        while self.turn_start(k) > at:
            k -= 1
        while self.turn_start(k + 1) <= at:
            k += 1
        return k

    def person_for(self, k: int) -> Hashable:
        participants = self.layer.participants
        return participants[k % len(participants)]

    # -- restriction windows
    def _window(self, day: date, restriction: Restriction) -> tuple[datetime, datetime]:
        opens = datetime.combine(day, time()) + timedelta(minutes=restriction.start_minute)
        closes = opens + timedelta(minutes=restriction.length_minutes)
        return to_instant(opens, self.tz), to_instant(closes, self.tz)

    def windows(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Merged restriction windows overlapping [start, end), or [(start, end)] when unrestricted."""
        if not self.layer.restrictions:
            return [(start, end)]
        first = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date()
        found = []
        day = first
        while day <= last:
            for restriction in self.layer.restrictions:
                if day.weekday() in restriction.days:
                    opens, closes = self._window(day, restriction)
                    if closes > start and opens < end and closes > opens:
                        found.append((max(opens, start), min(closes, end)))
            day += timedelta(days=1)
        found.sort()
        merged: list[tuple[datetime, datetime]] = []
        for opens, closes in found:
            if merged and opens <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
            else:
                merged.append((opens, closes))
        return merged

    def in_window(self, at: datetime) -> tuple[bool, datetime | None]:
        """Whether `at` is inside a window, and when that window closes."""
        if not self.layer.restrictions:
            return True, None
        for opens, closes in self.windows(at, at + timedelta(microseconds=1)):
            if opens <= at < closes:
                return True, closes
        return False, None

    # -- the layer's own timeline
    def who_at(self, at: datetime) -> Hashable | None:
        if at < self.anchor:
            return None
        inside, _ = self.in_window(at)
        if not inside:
            return None
        return self.person_for(self.turn_index(at))

    def segments(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime, object]]:
        """(start, end, person) pieces in [start, end), sorted, non-overlapping."""
        start = max(start, self.anchor)
        if start >= end:
            return []
        turns: list[list[Any]] = []
        if self.only is not None:
            turns.append([start, end, self.only])
        else:
            k = self.turn_index(start)
            turn_begin = self.turn_start(k)
            while turn_begin < end:
                turn_next = self.turn_start(k + 1)
                if turn_next > turn_begin:  # a turn inside a skipped hour has no piece
                    turn_end, person = min(turn_next, end), self.person_for(k)
                    if turns and turns[-1][2] == person:
                        turns[-1][1] = turn_end  # same person again (a repeated name): one piece
                    else:
                        turns.append([max(turn_begin, start), turn_end, person])
                k, turn_begin = k + 1, turn_next
        windows = self.windows(start, end)
        pieces = []
        i = 0
        for t_start, t_end, person in turns:
            while i < len(windows) and windows[i][1] <= t_start:
                i += 1
            j = i
            while j < len(windows) and windows[j][0] < t_end:
                lo, hi = max(windows[j][0], t_start), min(windows[j][1], t_end)
                if lo < hi:
                    pieces.append((lo, hi, person))
                j += 1
        return pieces
