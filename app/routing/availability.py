"""Is a staff member available right now? Pure: `now` is an argument.

Working hours are weekly windows in the team's time zone:
``[{"days": ["mon", …], "start": "HH:MM", "end": "HH:MM"}]``.

- A window runs from ``start`` on each listed day to ``end``; when ``end <= start``
  it crosses midnight and ends on the next day (so ``"22:00"–"06:00"`` on ``fri``
  covers Friday 22:00 to Saturday 06:00, and ``start == end`` is a 24-hour window).
- ``"24:00"`` is allowed as an end: the end of the day.
- Local wall-clock time is compared the obvious way: ``now`` is converted to the
  zone and its local time is checked against the windows. In a spring-forward gap
  no instant has the missing local times; in a fall-back overlap the repeated hour
  matches twice.
- Empty working hours mean never available (only rotas reach such staff).
- On leave (``start <= now < end``) means not available, whatever the hours say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Window:
    """One weekly working window; minutes since local midnight."""

    days: frozenset[int]  # 0 = Monday, as datetime.weekday()
    start: int
    end: int

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def contains(self, weekday: int, minute: float) -> bool:
        if not self.crosses_midnight:
            return weekday in self.days and self.start <= minute < self.end
        if weekday in self.days and minute >= self.start:
            return True
        return (weekday - 1) % 7 in self.days and minute < self.end


def _parse_time(value: Any, *, field: str, allow_24: bool) -> int:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ValueError(f"{field}: expected 'HH:MM', got {value!r}")
    hh, mm = value[:2], value[3:]
    if not (hh.isdigit() and mm.isdigit()):
        raise ValueError(f"{field}: expected 'HH:MM', got {value!r}")
    hours, minutes = int(hh), int(mm)
    if allow_24 and hours == 24 and minutes == 0:
        return _MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        limit = "00:00-23:59 or 24:00" if allow_24 else "00:00-23:59"
        raise ValueError(f"{field}: {value!r} is not a time of day ({limit})")
    return hours * 60 + minutes


def parse_working_hours(working_hours: Sequence[dict[str, Any]]) -> tuple[Window, ...]:
    """Validate stored/submitted working hours; ValueError names the bad field.

    Routers can call this to answer 422 before anything is stored.
    """
    if working_hours is None:
        return ()
    if not isinstance(working_hours, (list, tuple)):
        raise ValueError("working_hours: expected a list of {days, start, end}")
    windows = []
    for index, entry in enumerate(working_hours):
        where = f"working_hours[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected an object with days, start, end")
        days = entry.get("days")
        if not isinstance(days, (list, tuple)) or not days:
            raise ValueError(f"{where}.days: expected a non-empty list of {', '.join(DAYS)}")
        day_numbers = set()
        for day in days:
            name = day.strip().lower() if isinstance(day, str) else None
            if name not in DAYS:
                raise ValueError(f"{where}.days: {day!r} is not one of {', '.join(DAYS)}")
            day_numbers.add(DAYS.index(name))
        start = _parse_time(entry.get("start"), field=f"{where}.start", allow_24=False)
        end = _parse_time(entry.get("end"), field=f"{where}.end", allow_24=True)
        windows.append(Window(days=frozenset(day_numbers), start=start, end=end))
    return tuple(windows)


def validate_working_hours(working_hours: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalised copy (lower-case day names) of valid working hours; ValueError otherwise."""
    parse_working_hours(working_hours)
    return [
        {
            "days": [d.strip().lower() for d in entry["days"]],
            "start": entry["start"],
            "end": entry["end"],
        }
        for entry in working_hours or ()
    ]


def _require_aware(value: datetime, *, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _aware(value: datetime) -> datetime:
    # Times are stored in UTC; a naive bound can only mean UTC.
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def is_on_leave(leaves: Sequence[tuple[datetime, datetime]], now: datetime) -> bool:
    """True when some leave period contains `now` (start inclusive, end exclusive)."""
    _require_aware(now, name="now")
    return any(_aware(start) <= now < _aware(end) for start, end in leaves)


_PARSED: dict[tuple[Any, ...], tuple[Window, ...]] = {}


def _windows(working_hours: Sequence[dict[str, Any]]) -> tuple[Window, ...]:
    """parse_working_hours, remembered: routing a text asks it of every staff
    member of the team, whose hours rarely change. Anything that is not plain
    well-formed data is parsed (and refused) afresh."""
    try:
        key = tuple(
            (tuple(entry["days"]), entry["start"], entry["end"]) for entry in working_hours or ()
        )
        windows = _PARSED.get(key)
    except (TypeError, KeyError):
        return parse_working_hours(working_hours)
    if windows is None:
        windows = parse_working_hours(working_hours)
        if len(_PARSED) > 4096:  # bounded: distinct hours in a deployment are few
            _PARSED.clear()
        _PARSED[key] = windows
    return windows


def in_working_hours(
    working_hours: Sequence[dict[str, Any]], *, timezone: str, now: datetime
) -> bool:
    _require_aware(now, name="now")
    windows = _windows(working_hours)
    if not windows:
        return False
    local = now.astimezone(zone(timezone))
    minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1_000_000) / 60
    weekday = local.weekday()
    return any(window.contains(weekday, minute) for window in windows)


def is_available(
    *,
    working_hours: list[dict[str, Any]],
    leaves: Sequence[tuple[datetime, datetime]],
    timezone: str,
    now: datetime,
) -> bool:
    """Within working hours (team zone) and not on leave at `now`.

    Raises ValueError for a naive `now`, an unknown zone or malformed hours.
    Naive leave bounds are read as UTC (the storage convention).
    """
    _require_aware(now, name="now")
    if is_on_leave(leaves, now):
        return False
    return in_working_hours(working_hours, timezone=timezone, now=now)


# Why a person cannot be woken for a contact now (see `unreachable_reason`).
DEACTIVATED = "deactivated"
ON_LEAVE = "on_leave"
OPTED_OUT = "opted_out"


def unreachable_reason(
    *, active: bool, on_leave: bool, sms_ok: bool, call_rule: bool = False, needs_sms: bool = True
) -> str | None:
    """Why this person cannot be reached now, or None when they can: THE one
    definition of "reachable" (routing, level skipping, handovers and paging
    all ask it). Deactivated or on leave: nobody may wake them. Opted out of
    SMS: unreachable where a text is the way in (`needs_sms`) unless a
    notification rule calls them (`call_rule`)."""
    if not active:
        return DEACTIVATED
    if on_leave:
        return ON_LEAVE
    if needs_sms and not sms_ok and not call_rule:
        return OPTED_OUT
    return None


def is_reachable(
    *, active: bool, on_leave: bool, sms_ok: bool, call_rule: bool = False, needs_sms: bool = True
) -> bool:
    return (
        unreachable_reason(
            active=active,
            on_leave=on_leave,
            sms_ok=sms_ok,
            call_rule=call_rule,
            needs_sms=needs_sms,
        )
        is None
    )


__all__ = [
    "DAYS",
    "DEACTIVATED",
    "ON_LEAVE",
    "OPTED_OUT",
    "Window",
    "in_working_hours",
    "is_available",
    "is_on_leave",
    "is_reachable",
    "parse_working_hours",
    "unreachable_reason",
    "validate_working_hours",
    "zone",
]
