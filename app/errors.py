"""Errors that carry their HTTP status, and the handlers that render them.

Every 4xx body is `{"detail": ...}`; validation errors name the field and why.
An unexpected exception is logged with the request id and answered with a bare
500 that reveals nothing of the internals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class AppError(Exception):
    status_code = 400

    def __init__(self, detail: Any):
        super().__init__(detail)
        self.detail = detail


class Unauthorized(AppError):
    status_code = 401


class Forbidden(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class Invalid(AppError):
    """422 for a single field: `Invalid("phone", "is not a valid number")`."""

    status_code = 422

    def __init__(self, field: str | list, message: str):
        loc = ["body", field] if isinstance(field, str) else list(field)
        super().__init__([{"loc": loc, "msg": message, "type": "value_error"}])


class BadRequest(Invalid):
    """400 for a field no sender could have meant (a webhook value Twilio never sends)."""

    status_code = 400


class ServiceUnavailable(AppError):
    status_code = 503


class TooManyRequests(AppError):
    """429 with Retry-After (seconds)."""

    status_code = 429

    def __init__(self, retry_after: int):
        super().__init__(f"too many requests: try again in {retry_after} seconds")
        self.retry_after = retry_after


def _clean_validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # Pydantic's errors may echo the whole input (PHI) and carry exception
    # objects that are not JSON: keep where and why only.
    cleaned = []
    for error in errors:
        cleaned.append(
            {
                "loc": list(error.get("loc", ())),
                "msg": str(error.get("msg", "invalid")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return cleaned


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _clean_validation_errors(exc.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(OverflowError)
    async def _out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
        # A number too large for the database (SQLite refuses ints past 64
        # bits while binding, e.g. GET /v1/contacts/108372202433876197376):
        # bad input, not a server fault.
        return JSONResponse(
            {
                "detail": [
                    {"loc": ["request"], "msg": "a number is out of range", "type": "value_error"}
                ]
            },
            status_code=422,
        )

    @app.exception_handler(StatementError)
    async def _bad_value_for_the_database(request: Request, exc: StatementError) -> JSONResponse:
        # A value the database or its driver refuses while binding or storing
        # it (PostgreSQL: a number out of range, a NUL character in text;
        # either: a date the UTC conversion cannot represent) is bad input.
        # Anything else the database says (unreachable, a lock, a bug) is not.
        if isinstance(exc, DataError) or (
            not isinstance(exc, DBAPIError)
            and isinstance(exc.orig, (OverflowError, ValueError, TypeError))
        ):
            return JSONResponse(
                {
                    "detail": [
                        {
                            "loc": ["request"],
                            "msg": "a value is out of range or not storable",
                            "type": "value_error",
                        }
                    ]
                },
                status_code=422,
            )
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", None)
        log.error(
            "unhandled_exception", request_id=request_id, error=type(exc).__name__, exc_info=exc
        )
        return JSONResponse({"detail": "internal error", "request_id": request_id}, status_code=500)


def refuse_nulls(data: dict, *, nullable: frozenset[str] = frozenset()) -> dict:
    """A PATCH may leave a field out; it may not set a required one to null."""
    for key, value in data.items():
        if value is None and key not in nullable:
            raise Invalid(key, "may not be null; leave it out to keep the current value")
    return data
