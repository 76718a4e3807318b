"""A rota's week or month as calendar days: the final schedule and its gaps
cut at each local midnight of the team's time zone. Pure: the caller reads
the shifts and gaps (app.oncall.service) and passes them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

View = Literal["week", "month"]


@dataclass(frozen=True)
class Entry:
    kind: Literal["shift", "gap"]
    start: str  # local HH:MM
    end: str  # local HH:MM, 24:00 at the next midnight
    staff_id: int | None = None
    source: str | None = None


@dataclass
class Day:
    day: date
    in_period: bool  # a month view's leading and trailing days are not
    today: bool
    entries: list[Entry] = field(default_factory=list)

    @property
    def has_gap(self) -> bool:
        return any(e.kind == "gap" for e in self.entries)


@dataclass
class Calendar:
    view: View
    first: date  # the period's first day (a Monday for a week, the 1st for a month)
    days: list[Day]
    start: datetime  # the shown days' window, aware
    end: datetime
    previous: date
    following: date

    @property
    def weeks(self) -> list[list[Day]]:
        return [self.days[i : i + 7] for i in range(0, len(self.days), 7)]


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    # A zone whose midnight is skipped by DST gives the instant after the gap.
    return datetime.combine(day, time(0), zone)


def window(view: View, around: date, zone: ZoneInfo) -> tuple[date, list[date], datetime, datetime]:
    """The period holding `around`: its first day, the days shown (whole
    weeks, Monday first) and that span as aware instants."""
    if view == "week":
        first = around - timedelta(days=around.weekday())
        shown_from, shown_to = first, first + timedelta(days=7)
    else:
        first = around.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        shown_from = first - timedelta(days=first.weekday())
        shown_to = following + timedelta(days=(7 - following.weekday()) % 7)
    days = [shown_from + timedelta(days=i) for i in range((shown_to - shown_from).days)]
    return first, days, _midnight(shown_from, zone), _midnight(shown_to, zone)


def _hhmm(value: datetime, day: date, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    return "24:00" if local.date() > day else local.strftime("%H:%M")


def build(
    *,
    view: View,
    around: date,
    today: date,
    zone: ZoneInfo,
    shifts: list[tuple[datetime, datetime, int, str]],
    gaps: list[tuple[datetime, datetime]],
) -> Calendar:
    """`shifts` are (start, end, staff_id, source) and `gaps` (start, end)
    over the window `window()` gives; each is cut into its days."""
    first, dates, start, end = window(view, around, zone)
    pieces: list[tuple[datetime, datetime, Literal["shift", "gap"], int | None, str | None]]
    pieces = [(a, b, "shift", who, source) for a, b, who, source in shifts]
    pieces += [(a, b, "gap", None, None) for a, b in gaps]
    pieces.sort(key=lambda p: p[0])
    days = []
    for day in dates:
        lo, hi = _midnight(day, zone), _midnight(day + timedelta(days=1), zone)
        entries = [
            Entry(
                kind=kind,
                start=_hhmm(max(a, lo), day, zone),
                end=_hhmm(min(b, hi), day, zone),
                staff_id=who,
                source=source,
            )
            for a, b, kind, who, source in pieces
            if a < hi and b > lo
        ]
        in_period = view == "week" or day.month == first.month
        days.append(Day(day=day, in_period=in_period, today=day == today, entries=entries))
    if view == "week":
        previous, following = first - timedelta(days=7), first + timedelta(days=7)
    else:
        previous = (first - timedelta(days=1)).replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
    return Calendar(
        view=view,
        first=first,
        days=days,
        start=start,
        end=end,
        previous=previous,
        following=following,
    )
