"""The one place that turns local wall-clock times into instants.

Rule: a local time resolves to the FIRST instant whose wall clock reads that
time or later. So a time that does not exist (the spring-forward gap)
resolves to the transition itself, and an ambiguous one (fall back) to its
first occurrence. Consecutive turns or windows resolved this way always abut:
no gap and no overlap at a handoff.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rotas.errors import InvalidWindowError, NaiveDatetimeError, UnknownTimeZoneError

UTC = UTC
# Instants and anchors must lie in these years: far enough inside datetime's
# range that turn lengths, zone offsets and on_call's 400-day look-ahead can
# never overflow (an OverflowError is not a RotaError).
FIRST_YEAR, LAST_YEAR = 1000, 8999


def zone(name: str) -> ZoneInfo:
    # ZoneInfo accepts relative paths; refuse anything that is not a plain IANA key.
    if (
        not isinstance(name, str)
        or not name
        or name.startswith(("/", "."))
        or ".." in name
        or "\\" in name
    ):
        raise UnknownTimeZoneError(f"timezone: {name!r} is not an IANA time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownTimeZoneError(f"timezone: {name!r} is not an IANA time zone") from None


def require_aware(value: datetime, field: str) -> datetime:
    """`value` as an aware UTC datetime; NaiveDatetimeError naming `field` otherwise."""
    if not isinstance(value, datetime):
        raise NaiveDatetimeError(
            f"{field}: must be a timezone-aware datetime, got {type(value).__name__}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(f"{field}: must be timezone-aware, got naive {value.isoformat()}")
    require_supported_year(value, field)
    return value.astimezone(UTC)


def require_supported_year(value: datetime, field: str) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InvalidWindowError(
            f"{field}: year must be {FIRST_YEAR}..{LAST_YEAR}, got {value.year}"
        )


def to_instant(local: datetime, tz: ZoneInfo) -> datetime:
    """Resolve a naive local wall-clock time in `tz` to an aware UTC instant."""
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == local:
        return first  # exists; fold=0 is the first occurrence when ambiguous
    return _gap_end(local, tz, first)


def _gap_end(local: datetime, tz: ZoneInfo, after: datetime) -> datetime:
    # In a gap, fold=0 applies the pre-transition offset and lands after the
    # transition; fold=1 applies the post-transition offset and lands before
    # it. Transitions in tzdata fall on whole seconds, so bisect whole UTC
    # seconds (always terminates) for the first second with the new offset.
    before = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    old_offset = before.astimezone(tz).utcoffset()
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == old_offset:
            low = mid
        else:
            high = mid
    return datetime.fromtimestamp(high, UTC)
