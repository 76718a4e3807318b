"""The one place that turns local wall-clock times into instants.

A local time that does not exist (the spring-forward gap) resolves to the
first instant after the gap, i.e. the transition itself; an ambiguous one
(fall back) resolves to its first occurrence. Consecutive turns computed
this way always abut: no gap and no overlap at a handoff.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rotas.errors import NaiveDatetimeError, UnknownTimeZoneError

UTC = timezone.utc


def zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        raise UnknownTimeZoneError(f"timezone: {name!r} is not an IANA time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownTimeZoneError(f"timezone: {name!r} is not an IANA time zone") from None


def require_aware(value: datetime, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise NaiveDatetimeError(f"{field}: must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(f"{field}: must be timezone-aware")
    return value.astimezone(UTC)


def to_instant(local: datetime, tz: ZoneInfo) -> datetime:
    """Resolve a naive local wall-clock time in `tz` to an aware UTC instant."""
    first = local.replace(tzinfo=tz, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == local:
        return instant  # exists (fold=0 is the first occurrence when ambiguous)
    # In a gap: fold=0 used the offset from before the transition, which
    # lands after the gap; fold=1 lands before it. The transition lies
    # between; find it to the second by bisection (rare path).
    low = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = instant
    before = low.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(tz).utcoffset() == before:
            low = mid
        else:
            high = mid
    return high
