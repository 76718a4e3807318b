"""The one date-time type every API body and query takes.

Python's datetime reaches from year 1 to 9999, but turning 0001-01-01T00:00+05:00
into UTC (which the database column, the rota engine and the reports all do)
overflows, and a window near either end overflows once a default length is
added. So an instant from a client must carry a UTC offset and fall, in UTC,
between 1970 and 2199 (the years the rota engine computes); anything else is
a 422 naming the field, before any handler runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

MIN_YEAR, MAX_YEAR = 1970, 2199
LOWEST = datetime(MIN_YEAR, 1, 1, tzinfo=UTC)
HIGHEST = datetime(MAX_YEAR, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def check_instant(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a UTC offset, e.g. 2026-11-22T03:00:00+00:00")
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not LOWEST <= in_utc <= HIGHEST:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR} (UTC)")
    return value


Instant = Annotated[datetime, AfterValidator(check_instant)]
