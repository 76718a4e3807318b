"""A conversation's attachments (MMS), shown through the service: found on
the contact's `received` event, checked to be this account's Twilio media,
streamed from Twilio (app.twilio.media) and never stored. The staff link's
page and the console's contact page both open them through here, each
after its own access check, and audit each view (and each view of the
conversation) in one shape: `audit_contact_view`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session
from starlette.background import BackgroundTask

from app.auth.service import Principal, audit
from app.contacts.models import Contact, ContactEvent, EventKind
from app.settings import Settings
from app.twilio.media import MediaUnavailable, is_account_media, open_media

log = structlog.get_logger(__name__)

# An attachment shown in the browser's viewer rather than saved.
INLINE_MEDIA = ("image/", "video/", "audio/", "application/pdf")
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")
# An attachment is the sender's bytes: nothing in it runs in the service's origin.
MEDIA_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
}
# Under /console the console's middleware sets the others (app.console.web).
CONSOLE_MEDIA_HEADERS = {"Content-Security-Policy": MEDIA_HEADERS["Content-Security-Policy"]}


def audit_contact_view(
    session: Session, principal: Principal, contact: Contact, action: str, detail: dict[str, Any]
) -> None:
    """One audit row for a view of a contact (`contact.read`) or of one of
    its attachments (`contact.media_read`); `detail` says through what."""
    audit(
        session=session,
        principal=principal,
        action=action,
        record_type="contact",
        record_id=contact.id,
        team_id=contact.team_id,
        detail=detail,
    )


@dataclass(frozen=True)
class Attachment:
    url: str
    content_type: str
    allowed: bool  # this account's Twilio media (else never fetched)


def find_attachment(
    *, session: Session, contact_id: int, event_id: int, index: int, settings: Settings
) -> Attachment | None:
    """The `index`th attachment of a message the contact received, or None."""
    event = session.get(ContactEvent, event_id)
    if event is None or event.contact_id != contact_id or event.kind != EventKind.RECEIVED:
        return None
    media = (event.data or {}).get("media") or []
    if not isinstance(media, list) or not 0 <= index < len(media):
        return None
    item = media[index] if isinstance(media[index], dict) else {}
    url = str(item.get("url") or "")
    content_type = str(item.get("content_type") or "").lower()
    if not _CONTENT_TYPE.fullmatch(content_type):
        content_type = "application/octet-stream"
    allowed = is_account_media(url, settings=settings)
    if not allowed:
        log.warning("media_url_refused", contact_id=contact_id, event_id=event_id)
    return Attachment(url=url, content_type=content_type, allowed=allowed)


def viewed_attachment(
    *,
    session: Session,
    principal: Principal,
    contact_id: int,
    event_id: int,
    index: int,
    settings: Settings,
    via: str,
) -> Attachment | None:
    """`find_attachment`, and a `contact.media_read` audit row when it will
    be fetched (this account's media); the caller commits."""
    found = find_attachment(
        session=session, contact_id=contact_id, event_id=event_id, index=index, settings=settings
    )
    if found is not None and found.allowed:
        contact = session.get_one(Contact, contact_id)
        detail = {"via": via, "event_id": event_id, "index": index}
        audit_contact_view(session, principal, contact, "contact.media_read", detail)
    return found


def not_found(headers: dict[str, str] = MEDIA_HEADERS) -> Response:
    return Response(status_code=404, headers=headers)


def refused(headers: dict[str, str] = MEDIA_HEADERS) -> Response:
    return Response(
        "this attachment's URL is not Twilio media of this account",
        status_code=403,
        headers=headers,
        media_type="text/plain",
    )


async def stream(
    attachment: Attachment, *, settings: Settings, headers: dict[str, str] = MEDIA_HEADERS
) -> Response:
    """The attachment's bytes from Twilio to the browser, nothing kept."""
    try:
        opened = await open_media(attachment.url, settings=settings)
    except MediaUnavailable as exc:
        log.warning("media_unavailable", reason=str(exc))
        return Response(
            "the attachment could not be fetched from Twilio",
            status_code=502,
            headers=headers,
            media_type="text/plain",
        )
    headers = dict(headers)
    inline = attachment.content_type.startswith(INLINE_MEDIA)
    headers["Content-Disposition"] = "inline" if inline else "attachment"
    if opened.content_length is not None:
        headers["Content-Length"] = str(opened.content_length)
    return StreamingResponse(
        opened.chunks,
        media_type=attachment.content_type,
        headers=headers,
        background=BackgroundTask(opened.close),
    )
