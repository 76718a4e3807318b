"""An MMS attachment fetched from Twilio for the conversation page.

Twilio's media URLs may need the account's credentials (HTTP basic). Only a
URL of this account's media on Twilio's API host is ever fetched with them:
the URL came in a webhook, and a forged one must not make the service send
its credentials, or its requests, anywhere else. The bytes are streamed
through and never written to disk.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx

from app.settings import Settings

# /2010-04-01/Accounts/AC…/Messages/MM…/Media/ME… (SIDs: two letters, 32 hex digits).
_MEDIA_PATH = re.compile(
    r"/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages/[MS]M[0-9a-fA-F]{32}/Media/ME[0-9a-fA-F]{32}"
)
TWILIO_API = "https://api.twilio.com"
# Twilio refuses MMS over 5 MB; past this the stream is cut.
MAX_MEDIA_BYTES = 10_000_000
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def is_account_media(url: str, *, settings: Settings) -> bool:
    """A URL of this account's media on Twilio's API host (or the configured
    TWILIO_API_BASE_URL): nothing else is fetched with the credentials."""
    sid = settings.twilio_account_sid
    if not sid:
        return False
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return False
    if parsed.userinfo or parsed.query or parsed.fragment or parsed.scheme != "https":
        return False
    origins = {_origin(httpx.URL(TWILIO_API)), _origin(httpx.URL(settings.twilio_api_base_url))}
    if _origin(parsed) not in origins:
        return False
    match = _MEDIA_PATH.fullmatch(parsed.path)
    return match is not None and match.group(1) == sid


@dataclass
class MediaStream:
    content_length: int | None
    chunks: AsyncIterator[bytes]
    close: Callable[[], Awaitable[None]]  # closes the response and the client


class MediaUnavailable(Exception):
    pass


async def open_media(url: str, *, settings: Settings) -> MediaStream:
    """Start fetching (redirects followed: Twilio answers with its CDN's URL,
    and httpx drops the credentials on a redirect to another host)."""
    client = httpx.AsyncClient(
        auth=(settings.twilio_account_sid or "", settings.twilio_auth_token or ""),
        timeout=TIMEOUT,
        follow_redirects=True,
    )
    try:
        response = await client.send(client.build_request("GET", url), stream=True)
    except httpx.HTTPError as exc:
        await client.aclose()
        raise MediaUnavailable(type(exc).__name__) from None
    if response.status_code != 200:
        await response.aclose()
        await client.aclose()
        raise MediaUnavailable(f"status {response.status_code}")
    length = response.headers.get("content-length")
    size = int(length) if length and length.isdigit() else None
    if size is not None and size > MAX_MEDIA_BYTES:
        await response.aclose()
        await client.aclose()
        raise MediaUnavailable("too large")

    async def chunks() -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in response.aiter_bytes():
            sent += len(chunk)
            if sent > MAX_MEDIA_BYTES:
                break
            yield chunk

    async def close() -> None:
        await response.aclose()
        await client.aclose()

    return MediaStream(content_length=size, chunks=chunks(), close=close)
