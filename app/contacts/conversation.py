"""A contact's conversation: every word the caller sent and every message the
line sent them, in order. One builder for every page that shows it (the
console's contact page, the staff link's page) and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app.contacts.models import Contact, ContactEvent, EventKind
from app.messaging.models import MessagePurpose, OutboundMessage
from app.teams.models import Staff

# Outbound purposes that reach the caller (the rest go to staff).
TO_CALLER = ("auto_reply", "relay", "fallback", "follow_up")
SENDER_OF_PURPOSE = {
    "auto_reply": "automatic reply",
    "fallback": "automatic: fallback numbers",
    "follow_up": "follow-up",
}


@dataclass(frozen=True)
class Message:
    at: datetime
    direction: str  # "in" from the caller, "out" to the caller
    sender: str  # "caller" or who sent it ("Owen Nights", "automatic reply")
    body: str
    status: str | None = None  # outbound: pending, sent, delivered, failed, …
    media: list[dict] = field(default_factory=list)
    ref: int | None = None  # inbound: its `received` event (the media proxy's key)


def conversation(*, session: Session, contact: Contact) -> list[Message]:
    received = session.execute(
        select(ContactEvent)
        .where(
            col(ContactEvent.contact_id) == contact.id, col(ContactEvent.kind) == EventKind.RECEIVED
        )
        .order_by(col(ContactEvent.at), col(ContactEvent.id))
    ).scalars()
    sent = session.execute(
        select(OutboundMessage)
        .where(
            col(OutboundMessage.contact_id) == contact.id,
            col(OutboundMessage.to_number) == contact.from_number,
            col(OutboundMessage.purpose).in_(TO_CALLER),
        )
        .order_by(col(OutboundMessage.created_at), col(OutboundMessage.id))
    ).scalars()
    messages: list[tuple[datetime, int, Message]] = []
    for event in received:
        media = event.data.get("media") or []
        messages.append(
            (
                event.at,
                0,
                Message(
                    at=event.at,
                    direction="in",
                    sender="caller",
                    body=str(event.data.get("body") or ""),
                    media=media if isinstance(media, list) else [],
                    ref=event.id,
                ),
            )
        )
    rows = list(sent)
    names = _staff_names(session, {m.staff_id for m in rows if m.staff_id is not None})
    for row in rows:
        sender = (
            names.get(row.staff_id, "staff")
            if row.purpose == MessagePurpose.RELAY
            else SENDER_OF_PURPOSE.get(row.purpose, row.purpose)
        )
        messages.append(
            (
                row.created_at,
                1,
                Message(
                    at=row.created_at,
                    direction="out",
                    sender=sender,
                    body=row.body,
                    status=row.status,
                ),
            )
        )
    messages.sort(key=lambda item: (item[0], item[1]))
    return [m for _, _, m in messages]


def _staff_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(col(Staff.id), col(Staff.name)).where(col(Staff.id).in_(ids))).all()
    )
