"""Outbound transports behind one protocol.

`TwilioSender` uses twilio's own REST client, with an httpx-backed HTTP client
so that respx (tests) or a Prism mock (TWILIO_API_BASE_URL) can stand in for
Twilio. `OutboxSender` stores only, for development and `crisisroute simulate`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client
from twilio.rest.api.v2010.account.call import CallInstance
from twilio.rest.api.v2010.account.message import MessageInstance

from app.messaging.models import OutboxStatus
from app.settings import Settings


@dataclass(frozen=True)
class SendResult:
    ok: bool
    provider_sid: str | None = None
    status: str | None = None
    error_code: str | None = None
    # A permanent failure (Twilio 4xx such as 21610 "unsubscribed recipient")
    # is never retried: it counts as undelivered at once.
    permanent: bool = False


class SmsSender(Protocol):
    def send(self, *, to: str, from_: str, body: str, status_callback: str) -> SendResult: ...

    def close(self) -> None: ...


class CallSender(Protocol):
    """Places an outbound call whose TwiML Twilio fetches from `url`."""

    def call(
        self, *, to: str, from_: str, url: str, status_callback: str, timeout: int
    ) -> SendResult: ...


# A page call rings this long: under the ~20-25 s after which carriers hand a
# call to voicemail, so a voicemail greeting rarely answers it at all.
PAGE_RING_SECONDS = 18


class HttpxTwilioClient(HttpClient):
    """twilio's HttpClient interface over httpx (twilio ships only `requests`)."""

    def __init__(self, client: httpx.Client, timeout: float = 10.0):
        super().__init__(
            logger=logging.getLogger("twilio.http_client"), is_async=False, timeout=timeout
        )
        self._client = client

    def request(
        self,
        method,
        uri,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ) -> TwilioResponse:
        response = self._client.request(
            method,
            uri,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout or self.timeout,
            follow_redirects=allow_redirects,
        )
        return TwilioResponse(response.status_code, response.text, response.headers)


def _asked_twilio(create: Callable[[], MessageInstance | CallInstance]) -> SendResult:
    """What creating a message or call at Twilio came to."""
    try:
        made = create()
    except TwilioRestException as exc:
        transient = exc.status >= 500 or exc.status == 429
        return SendResult(ok=False, error_code=str(exc.code or exc.status), permanent=not transient)
    except (httpx.HTTPError, ValueError) as exc:
        # Timeouts, refused connections, an unparsable answer: try again later.
        return SendResult(ok=False, error_code=type(exc).__name__)
    return SendResult(ok=True, provider_sid=made.sid, status=made.status or "queued")


class TwilioSender:
    def __init__(
        self, *, account_sid: str, auth_token: str, api_base_url: str, timeout: float = 10.0
    ):
        self._http = httpx.Client(timeout=timeout)
        self._client = Client(
            account_sid, auth_token, http_client=HttpxTwilioClient(self._http, timeout)
        )
        self._client.api.base_url = api_base_url

    def send(self, *, to: str, from_: str, body: str, status_callback: str) -> SendResult:
        return _asked_twilio(
            lambda: self._client.messages.create(
                to=to, from_=from_, body=body, status_callback=status_callback
            )
        )

    def call(
        self, *, to: str, from_: str, url: str, status_callback: str, timeout: int
    ) -> SendResult:
        return _asked_twilio(
            lambda: self._client.calls.create(
                to=to,
                from_=from_,
                url=url,
                method="POST",
                status_callback=status_callback,
                # Without StatusCallbackEvent Twilio calls back once, when the call
                # ends (completed, busy, no-answer, failed, canceled): all a page needs.
                status_callback_method="POST",
                timeout=timeout,
            )
        )

    def close(self) -> None:
        self._http.close()


class OutboxSender:
    """Development transport: nothing leaves the machine; rows stay readable."""

    def send(self, *, to: str, from_: str, body: str, status_callback: str) -> SendResult:
        return SendResult(ok=True, provider_sid=None, status=OutboxStatus.STORED)

    def call(
        self, *, to: str, from_: str, url: str, status_callback: str, timeout: int
    ) -> SendResult:
        return SendResult(ok=True, provider_sid=None, status=OutboxStatus.STORED)

    def close(self) -> None:
        pass


def build_sender(settings: Settings) -> SmsSender:
    if settings.messaging_transport == "twilio":
        # Settings refuses the twilio transport without both credentials.
        assert settings.twilio_account_sid and settings.twilio_auth_token
        return TwilioSender(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            api_base_url=settings.twilio_api_base_url,
        )
    return OutboxSender()
