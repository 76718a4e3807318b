"""Every list endpoint pages: `limit` (capped) and `offset` query parameters,
and an `X-Next-Offset` header when there is more (lists keep their shape)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

MAX_PAGE = 500
MAX_OFFSET = 10_000_000

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"items a page (at most {MAX_PAGE})")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]


def page(rows: list, *, limit: int, offset: int, response: Response) -> list:
    """`rows` fetched with `.offset(offset).limit(limit + 1)`: the page, and
    the header telling where the next one starts when there is one."""
    if len(rows) > limit:
        response.headers["X-Next-Offset"] = str(offset + limit)
    return rows[:limit]
