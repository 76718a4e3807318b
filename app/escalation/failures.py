"""What a message Twilio could not deliver changes: a staff notification
escalates when nobody else at its level can still receive theirs; a client's
words relayed to staff escalate likewise; a staff member's words that did not
reach the client are never silent (they are told to call)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app.contacts import service as contacts
from app.contacts.models import Contact, ContactStatus, EventKind
from app.escalation.engine import advance
from app.messaging import texts
from app.messaging.models import FINAL_FAILURES, MessagePurpose, OutboundMessage
from app.messaging.outbox import enqueue
from app.settings import Settings
from app.teams.models import Staff, Team


def on_message_failed(
    session: Session, message: OutboundMessage, now: datetime, settings: Settings
) -> None:
    """A staff notification that Twilio could not deliver escalates at once
    when nobody else at that level can still receive theirs; so does a
    client's words relayed to staff. A staff member's words that did not
    reach the client are never silent: they are told to call."""
    if (
        message.purpose not in (MessagePurpose.NOTIFY, MessagePurpose.RELAY)
        or message.contact_id is None
    ):
        return
    contact = contacts.lock_contact(session=session, contact_id=message.contact_id)
    if contact is None:
        return
    if message.purpose == MessagePurpose.RELAY:
        _relay_failed(session, contact, message, now, settings)
        return
    _record_failure(session, contact, message, now)
    if contact.status != ContactStatus.OPEN or message.level != contact.level:
        return
    still_deliverable = session.execute(
        select(col(OutboundMessage.id)).where(
            col(OutboundMessage.contact_id) == contact.id,
            col(OutboundMessage.level) == contact.level,
            col(OutboundMessage.purpose) == MessagePurpose.NOTIFY,
            col(OutboundMessage.status).not_in(FINAL_FAILURES),
            col(OutboundMessage.id) != message.id,
        )
    ).first()
    if still_deliverable:
        return
    _next_level(session, contact, now, settings)


def _another_part_failed(session: Session, message: OutboundMessage) -> bool:
    """Whether another part of the same relay (queued together: same contact,
    sender, recipient and moment) has already failed. The contact is locked,
    so of several parts failing at once exactly one finds none."""
    return (
        session.execute(
            select(col(OutboundMessage.id)).where(
                col(OutboundMessage.contact_id) == message.contact_id,
                col(OutboundMessage.purpose) == MessagePurpose.RELAY,
                col(OutboundMessage.to_number) == message.to_number,
                col(OutboundMessage.created_at) == message.created_at,
                col(OutboundMessage.id) != message.id,
                col(OutboundMessage.status).in_(FINAL_FAILURES),
                col(OutboundMessage.staff_id).is_(None)
                if message.staff_id is None
                else col(OutboundMessage.staff_id) == message.staff_id,
            )
        ).first()
        is not None
    )


def _relay_failed(
    session: Session, contact: Contact, message: OutboundMessage, now: datetime, settings: Settings
) -> None:
    _record_failure(session, contact, message, now, relay=True)
    if _another_part_failed(session, message):
        # One relay sent in parts fails part by part: its sender was told,
        # or its level passed on, at the first part.
        return
    team = session.get_one(Team, contact.team_id)
    staff = session.get(Staff, message.staff_id) if message.staff_id else None
    if message.to_number == contact.from_number:
        if staff is not None:
            enqueue(
                session=session,
                team=team,
                to_number=staff.phone,
                body=texts.relay_not_delivered(
                    contact_id=contact.id, from_number=contact.from_number, lang=staff.language
                ),
                purpose=MessagePurpose.COMMAND_REPLY,
                contact_id=contact.id,
                staff_id=staff.id,
                now=now,
            )
        return
    # The client's words did not reach the person who holds (or was paged
    # for) the contact: like a failed notification, the next level now.
    if contact.status == ContactStatus.ACKNOWLEDGED and contact.acknowledged_by == message.staff_id:
        contacts.record_pass(
            session=session,
            contact=contact,
            staff_id=message.staff_id,
            at=now,
            data={"reason": "relay_failed"},
        )
    if contact.status == ContactStatus.OPEN:
        _next_level(session, contact, now, settings)


def _record_failure(
    session: Session, contact: Contact, message: OutboundMessage, now: datetime, **extra: bool
) -> None:
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.DELIVERY_FAILED,
        at=now,
        staff_id=message.staff_id,
        level=message.level,
        data={"message_id": message.id, "error_code": message.error_code, **extra},
    )


def _next_level(session: Session, contact: Contact, now: datetime, settings: Settings) -> None:
    team = session.get_one(Team, contact.team_id)
    advance(
        session=session,
        contact=contact,
        team=team,
        now=now,
        reason="delivery_failed",
        settings=settings,
    )
