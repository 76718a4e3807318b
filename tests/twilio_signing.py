"""Signed Twilio webhooks, computed with twilio's own RequestValidator."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

from tests.conftest import PUBLIC_BASE_URL, TWILIO_TOKEN


def signature(
    path: str, params: dict, token: str = TWILIO_TOKEN, base_url: str = PUBLIC_BASE_URL
) -> str:
    return RequestValidator(token).compute_signature(base_url + path, params)


def post_signed(client, path: str, params: dict, **kwargs):
    headers = {"X-Twilio-Signature": signature(path, params, **kwargs)}
    return client.post(path, data=params, headers=headers)
