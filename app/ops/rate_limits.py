"""Rate limits for what can be reached without an API key: plan and calendar
links, and webhook requests that fail their signature.

Counted in process (the `limits` library's moving window in memory): each
instance limits on its own, so N instances allow up to N times the rate.
That is enough to make guessing a link's 96-bit token or hammering the
webhooks pointless; nothing here is a source of truth.
"""

from __future__ import annotations

import hashlib
import math
import time

from fastapi import Request
from limits import RateLimitItem, parse, storage, strategies

from app.errors import TooManyRequests
from app.settings import Settings


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _fingerprint(value: str) -> str:
    # Tokens and phone numbers are kept in memory only as a short hash.
    return hashlib.sha256(value.encode()).hexdigest()[:16]


class RateLimiter:
    def __init__(self, *, links: str, webhook_refusals: str):
        self._window = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self.links = parse(links)
        self.webhook_refusals = parse(webhook_refusals)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(
            links=settings.rate_limit_links, webhook_refusals=settings.rate_limit_webhook_refusals
        )

    def _hit(self, item: RateLimitItem, *keys: str) -> int | None:
        """Count one; the seconds to wait when the window is full (nothing counted)."""
        if self._window.hit(item, *keys):
            return None
        reset_at = self._window.get_window_stats(item, *keys).reset_time
        return max(1, math.ceil(reset_at - time.time()))

    def _check(self, item: RateLimitItem, scope: str, keys: list[tuple[str, str]]) -> None:
        waits = [self._hit(item, scope, kind, value) for kind, value in keys]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            raise TooManyRequests(wait)

    def link_opened(self, request: Request, scope: str, token: str) -> None:
        """One open of a plan or calendar link: 429 past the rate per address or token."""
        self._check(
            self.links,
            scope,
            [("address", client_address(request)), ("token", _fingerprint(token))],
        )

    def webhook_refused(self, request: Request, from_number: str | None) -> None:
        """A webhook request that failed its signature: 429 (instead of 403)
        past the rate per address or per From number."""
        keys = [("address", client_address(request))]
        if from_number:
            keys.append(("from", _fingerprint(from_number)))
        self._check(self.webhook_refusals, "webhook", keys)
