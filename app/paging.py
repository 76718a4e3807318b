"""Every list endpoint pages: `limit` (capped) and `offset` query parameters,
and an `X-Next-Offset` header when there is more (lists keep their shape)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Response

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


@dataclass(frozen=True)
class Paging:
    """A list request's page: its `limit` and `offset`, and the response that
    carries `X-Next-Offset`."""

    limit: int
    offset: int
    response: Response

    def of(self, rows: list) -> list:
        """`page` of `rows` fetched with `.offset(offset).limit(limit + 1)`."""
        return page(rows, limit=self.limit, offset=self.offset, response=self.response)


def _paging(default_limit: int) -> Callable[..., Paging]:
    def paging(response: Response, limit: Limit = default_limit, offset: Offset = 0) -> Paging:
        return Paging(limit=limit, offset=offset, response=response)

    return paging


# Route parameters (after the principal, so a missing key is still 401 first).
Page = Annotated[Paging, Depends(_paging(100))]
LongPage = Annotated[Paging, Depends(_paging(200))]
