"""Twilio webhook signatures, checked by a dependency that fails closed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from app.errors import Forbidden
from app.ops.metrics import WEBHOOKS


def public_url(request: Request, base_url: str) -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path + query. Behind a TLS
    proxy request.url says http://, which would never match."""
    query = request.url.query
    return f"{base_url}{request.url.path}" + (f"?{query}" if query else "")


async def verified_form(request: Request) -> FormData:
    settings = request.app.state.settings
    token = settings.twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature")
    form = await request.form()
    # No token configured means no webhook can be trusted: refuse, never skip.
    if not token or not signature:
        WEBHOOKS.labels(request.url.path, "bad_signature").inc()
        raise Forbidden("missing or invalid Twilio signature")
    # All parameters, including ones Twilio adds without notice, are signed.
    if not RequestValidator(token).validate(
        public_url(request, settings.public_base_url), form, signature
    ):
        WEBHOOKS.labels(request.url.path, "bad_signature").inc()
        raise Forbidden("missing or invalid Twilio signature")
    return form


TwilioForm = Annotated[FormData, Depends(verified_form)]
