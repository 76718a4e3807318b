"""The crisis contact: an append-only timeline and the state derived from it.

Every change to a contact goes through these functions so that the row and
its timeline never disagree. They never commit; the caller's boundary does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.contacts.models import Contact, ContactEvent, ContactStatus, EventKind

OPEN_STATUSES = (ContactStatus.OPEN, ContactStatus.ACKNOWLEDGED)


def record_event(
    *,
    session: Session,
    contact: Contact,
    kind: str,
    at: datetime,
    staff_id: int | None = None,
    level: int | None = None,
    data: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> ContactEvent:
    event = ContactEvent(
        contact_id=contact.id,
        at=at,
        kind=kind,
        staff_id=staff_id,
        level=level,
        data=data or {},
        idempotency_key=idempotency_key,
    )
    session.add(event)
    contact.updated_at = at
    session.add(contact)
    return event


# Asked for every text routed: built once (building a select costs about as
# much as running it on PostgreSQL).
_EVENT_WITH_KEY = (
    select(col(ContactEvent.id))
    .where(col(ContactEvent.idempotency_key) == bindparam("key"))
    .limit(1)
)


def event_seen(*, session: Session, idempotency_key: str) -> bool:
    """Whether a webhook with this key (MessageSid, "CallSid:step") was recorded."""
    return session.execute(_EVENT_WITH_KEY, {"key": idempotency_key}).first() is not None


def insert_idempotent(*, session: Session, event: ContactEvent) -> bool:
    """Insert an event whose idempotency key may already exist (a Twilio retry
    racing the first delivery). Returns False, changing nothing, on a duplicate."""
    try:
        with session.begin_nested():
            session.add(event)
            session.flush()
    except IntegrityError:
        return False
    return True


def timeline(*, session: Session, contact_id: int) -> list[ContactEvent]:
    return list(
        session.execute(
            select(ContactEvent)
            .where(col(ContactEvent.contact_id) == contact_id)
            .order_by(col(ContactEvent.at), col(ContactEvent.id))
        ).scalars()
    )


def received_texts(*, session: Session, contact_id: int) -> list[dict[str, Any]]:
    """What the client's texts carried (`body`, `media`), oldest first."""
    return [
        data or {}
        for data in session.execute(
            select(col(ContactEvent.data))
            .where(
                col(ContactEvent.contact_id) == contact_id,
                col(ContactEvent.kind) == EventKind.RECEIVED,
            )
            .order_by(col(ContactEvent.id))
        ).scalars()
    ]


def mark_responded(*, contact: Contact, at: datetime) -> None:
    """The first time a human said anything to the sender."""
    if contact.first_response_at is None:
        contact.first_response_at = at


def set_holder(contact: Contact, staff_id: int | None, at: datetime | None) -> None:
    """Who holds the contact from `at` (nobody: None), with none of the
    holder's deadlines running: no reply awaited, no shift-end question asked."""
    contact.acknowledged_by = staff_id
    contact.acknowledged_at = at
    contact.next_escalation_at = None
    contact.reply_reminders = 0
    contact.handover_due_at = None
    contact.holder_kept_at = None


def acknowledge(
    *,
    session: Session,
    contact: Contact,
    staff_id: int,
    at: datetime,
    via: str,
    actor: str | None = None,
) -> bool:
    """A human has taken the contact: escalation stops. Returns False when it
    was already acknowledged or closed (nothing changes). Only a person holds
    a contact (the database refuses an acknowledged contact without one)."""
    if staff_id is None:
        raise ValueError("a contact is acknowledged by a staff member, never by nobody")
    if contact.status != ContactStatus.OPEN:
        return False
    contact.status = ContactStatus.ACKNOWLEDGED
    set_holder(contact, staff_id, at)
    contact.needs_callback = False
    record_event(
        session=session,
        contact=contact,
        kind=EventKind.ACKNOWLEDGED,
        at=at,
        staff_id=staff_id,
        level=contact.level,
        data={"via": via, **({"actor": actor} if actor else {})},
    )
    return True


def record_pass(
    *,
    session: Session,
    contact: Contact,
    staff_id: int | None,
    at: datetime,
    data: dict | None = None,
) -> bool:
    """`staff_id` passes the contact on: if they hold it, it is open again and
    held by nobody. The pass is on the timeline at the contact's level.
    Returns whether they held it."""
    held = contact.status == ContactStatus.ACKNOWLEDGED and contact.acknowledged_by == staff_id
    if held:
        contact.status = ContactStatus.OPEN
        contact.acknowledged_by = None
        contact.acknowledged_at = None
    record_event(
        session=session,
        contact=contact,
        kind=EventKind.PASSED,
        at=at,
        staff_id=staff_id,
        level=contact.level,
        data=data,
    )
    return held


def resolve(
    *,
    session: Session,
    contact: Contact,
    at: datetime,
    staff_id: int | None,
    via: str,
    details: dict[str, Any] | None = None,
) -> bool:
    """Close the contact. Details (outcome, risk level, …) may come now or later
    through the API; a resolved contact's details can be completed, and each
    completion is its own event."""
    details = details or {}
    first_time = contact.status != ContactStatus.RESOLVED
    if first_time:
        if contact.acknowledged_at is None:
            contact.acknowledged_at = at
            contact.acknowledged_by = staff_id
        contact.status = ContactStatus.RESOLVED
        contact.resolved_at = at
        contact.next_escalation_at = None
        contact.handover_due_at = None
        contact.needs_callback = False
    for field, value in details.items():
        if hasattr(contact, field) and value is not None:
            setattr(contact, field, value)
    record_event(
        session=session,
        contact=contact,
        kind=EventKind.RESOLVED if first_time else EventKind.RESOLUTION_UPDATED,
        at=at,
        staff_id=staff_id,
        level=contact.level,
        data={"via": via, **_jsonable(details)},
    )
    return first_time


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in details.items()
        if v is not None
    }


_OPEN_CONTACT = (
    select(Contact)
    .where(
        col(Contact.team_id) == bindparam("team_id"),
        col(Contact.from_number) == bindparam("number"),
        col(Contact.status).in_(OPEN_STATUSES),
    )
    .order_by(col(Contact.created_at).desc(), col(Contact.id).desc())
    .limit(1)
)
_OPEN_CONTACT_ON = _OPEN_CONTACT.where(col(Contact.channel) == bindparam("channel"))


def open_contact_for(
    *, session: Session, team_id: int, from_number: str, channel: str | None = None
) -> Contact | None:
    """The newest open (or acknowledged) contact from this number on this team's line."""
    if channel:
        return (
            session.execute(
                _OPEN_CONTACT_ON, {"team_id": team_id, "number": from_number, "channel": channel}
            )
            .scalars()
            .first()
        )
    return (
        session.execute(_OPEN_CONTACT, {"team_id": team_id, "number": from_number})
        .scalars()
        .first()
    )


def lock_contact(*, session: Session, contact_id: int) -> Contact | None:
    """Load a contact for change, serialising with the tick (row lock on PostgreSQL).
    The row read under the lock replaces any copy the session already holds:
    otherwise a caller that loaded the contact before waiting for the lock
    acts on what it was before the other transaction changed it."""
    query = (
        select(Contact)
        .where(col(Contact.id) == contact_id)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        # FOR NO KEY UPDATE: it still serialises everyone changing the contact,
        # but does not conflict with the share lock a new event's foreign key
        # takes, so "record an event, then lock" cannot deadlock.
        query = query.with_for_update(key_share=True)
    return session.execute(query).scalars().first()
