"""Twilio webhook signatures, checked by a dependency that fails closed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from app.errors import Forbidden
from app.ops.metrics import WEBHOOKS
from app.runtime import runtime_of


def public_url(request: Request, base_url: str) -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path + query. Behind a TLS
    proxy request.url says http://, which would never match."""
    query = request.url.query
    return f"{base_url}{request.url.path}" + (f"?{query}" if query else "")


async def verified_form(request: Request) -> FormData:
    settings = runtime_of(request).settings
    token = settings.twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature")
    # Twilio posts application/x-www-form-urlencoded, never multipart: a
    # multipart body (or a file in it) is refused before anything parses it.
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        WEBHOOKS.labels(request.url.path, "bad_content_type").inc()
        raise Forbidden("Twilio webhooks are form-encoded")
    form = await request.form()
    # No token configured means no webhook can be trusted: refuse, never skip.
    # All parameters, including ones Twilio adds without notice, are signed.
    if (
        token
        and signature
        and RequestValidator(token).validate(
            public_url(request, settings.public_base_url), form, signature
        )
    ):
        return form
    WEBHOOKS.labels(request.url.path, "bad_signature").inc()
    # Only refusals are counted, so Twilio's own bursts (signed) are never limited.
    request.app.state.rate_limiter.webhook_refused(request, form.get("From"))
    raise Forbidden("missing or invalid Twilio signature")


TwilioForm = Annotated[FormData, Depends(verified_form)]
