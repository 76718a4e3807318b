"""One layer's timeline: turns (who) masked by restriction windows (when).

Turn k of a daily/weekly layer starts at the anchor's local time-of-day on
anchor date + k·length days; of an hourly layer, at anchor instant +
k·length hours. The turn index at an instant is computed arithmetically, so
the cost never depends on how long ago the rota started.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rotas.model import Layer, Restriction
from rotas.walltime import to_instant


class LayerClock:
    """A layer placed in its schedule's zone: built once per Schedule and
    cached there, so the anchor is resolved once, not per query."""

    def __init__(self, layer: Layer, tz: ZoneInfo):
        self.layer = layer
        self.tz = tz
        self.source = f"layer:{layer.name}"
        self.anchor = to_instant(layer.start, tz)
        unit, length = layer.turn.unit, layer.turn.length
        self.hours = length if unit == "hours" else None
        self.days = length * (7 if unit == "weeks" else 1) if unit != "hours" else None
        # A rota of one person (e.g. a supervisor fallback) never hands off:
        # no need to enumerate its turns at all.
        distinct = set(layer.participants)
        self.only = layer.participants[0] if len(distinct) == 1 else None

    # -- turns
    def turn_start(self, k: int) -> datetime:
        if self.hours is not None:
            return self.anchor + timedelta(hours=self.hours * k)
        return to_instant(self.layer.start + timedelta(days=self.days * k), self.tz)

    def turn_index(self, at: datetime) -> int:
        """The k with turn_start(k) <= at < turn_start(k + 1) (negative before the anchor)."""
        if self.hours is not None:
            return int((at - self.anchor) // timedelta(hours=self.hours))
        local_days = (at.astimezone(self.tz).date() - self.layer.start.date()).days
        k = local_days // self.days
        # The local date is a guess within one turn: settle at the handoff time.
        while self.turn_start(k) > at:
            k -= 1
        while self.turn_start(k + 1) <= at:
            k += 1
        return k

    def person_for(self, k: int):
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
    def who_at(self, at: datetime):
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
        turns: list[list] = []
        if self.only is not None:
            turns.append([start, end, self.only])
        else:
            k = self.turn_index(start)
            turn_begin = self.turn_start(k)
            while turn_begin < end:
                turn_end = min(self.turn_start(k + 1), end)
                person = self.person_for(k)
                if turns and turns[-1][2] == person:
                    turns[-1][1] = turn_end  # same person again (a repeated name): one piece
                else:
                    turns.append([max(turn_begin, start), turn_end, person])
                k, turn_begin = k + 1, turn_end
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
