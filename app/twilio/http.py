"""What every Twilio webhook shares: required form fields, database work
off the event loop (a fast 503 when the database is down), TwiML responses."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import Response
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from app.errors import BadRequest, Invalid, ServiceUnavailable

if TYPE_CHECKING:
    from app.runtime import Runtime

log = structlog.get_logger(__name__)

XML = "application/xml"


# Every value Twilio puts in a field we need fits this: SIDs are 34
# characters, numbers and channel addresses far fewer, statuses a word.
MAX_TWILIO_VALUE = 64


def clean(value: object) -> str:
    """Form text as the database can hold it: PostgreSQL text cannot contain NUL."""
    return str(value or "").replace("\x00", "")


def required(form, name: str) -> str:
    value = clean(form.get(name))
    if not value:
        raise Invalid(["body", name], "is required")
    if len(value) > MAX_TWILIO_VALUE:
        raise BadRequest(["body", name], f"longer than {MAX_TWILIO_VALUE} characters")
    return value


# Twilio attaches at most 10 media to a message; its media URLs are ~150
# characters and content types a few dozen.
MAX_MEDIA = 10
MAX_MEDIA_URL = 2000
MAX_CONTENT_TYPE = 100


def media(form) -> list[dict[str, str]]:
    """An MMS's attachments as Twilio lists them (`NumMedia`, `MediaUrl{N}`,
    `MediaContentType{N}`): `[{"url", "content_type"}]`, in order. A count
    or an entry that cannot be Twilio's is a 400 naming the field."""
    raw = clean(form.get("NumMedia")) or "0"
    if not raw.isdigit() or int(raw) > MAX_MEDIA:
        raise BadRequest(["body", "NumMedia"], f"must be a whole number from 0 to {MAX_MEDIA}")
    items = []
    for n in range(int(raw)):
        url = clean(form.get(f"MediaUrl{n}"))
        if not url.startswith("https://") or len(url) > MAX_MEDIA_URL:
            raise BadRequest(
                ["body", f"MediaUrl{n}"],
                f"must be an https URL of at most {MAX_MEDIA_URL} characters",
            )
        content_type = clean(form.get(f"MediaContentType{n}")).lower()[:MAX_CONTENT_TYPE]
        items.append({"url": url, "content_type": content_type or "application/octet-stream"})
    return items


def unavailable(exc: Exception) -> ServiceUnavailable:
    """An unreachable database is a fast 503, so Twilio moves to the fallback
    URL instead of waiting 15 s."""
    log.error("database_unavailable", error=type(exc).__name__)
    return ServiceUnavailable("database unavailable")


async def run_db(func: Callable[..., Any], *args: Any) -> Any:
    """Database work off the event loop."""
    try:
        return await run_in_threadpool(func, *args)
    except (OperationalError, DBAPIError) as exc:
        raise unavailable(exc) from None


def twiml_then_dispatch(twiml: str, runtime: Runtime) -> Response:
    """TwiML now; the outbox rows the request wrote are sent after the response."""
    return Response(twiml, media_type=XML, background=BackgroundTask(runtime.dispatcher.dispatch))
