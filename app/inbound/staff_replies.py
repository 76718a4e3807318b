"""What a staff member's reply does to one contact: relayed to the client
from the line, or ACK, PASS, KEEP, DONE (`act_on_contact`), by text or from
the console alike. Staff numbers are never exposed: relays go out from the
line. Which contact a text is about, and the commands about no contact
(WHO, HELP, STOP/START), are app.inbound.staff_sms."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlmodel import Session, col

from app.contacts import service as contacts
from app.contacts.models import Channel, Contact, ContactEvent, ContactStatus, EventKind
from app.escalation import engine, handover
from app.i18n import _
from app.inbound import conversation, keywords
from app.messaging import texts
from app.messaging.models import MessagePurpose, OutboundMessage
from app.messaging.outbox import enqueue, is_opted_out
from app.settings import Settings
from app.teams.models import Staff, Team

log = structlog.get_logger(__name__)

HELP_RATE_LIMIT = timedelta(minutes=10)


def reply_to_staff(
    session: Session,
    team: Team,
    staff: Staff,
    body: str,
    now: datetime,
    purpose: str = MessagePurpose.COMMAND_REPLY,
    contact_id: int | None = None,
) -> None:
    """A text from the line to a staff member: a command's answer or help."""
    enqueue(
        session=session,
        team=team,
        to_number=staff.phone,
        body=body,
        purpose=purpose,
        staff_id=staff.id,
        contact_id=contact_id,
        now=now,
    )


def act_on_contact(
    *,
    session: Session,
    team: Team,
    contact_id: int,
    staff: Staff,
    reply: keywords.StaffReply,
    idempotency_key: str,
    now: datetime,
    settings: Settings,
) -> str:
    """What a staff member's reply does to one contact: relay the text from
    the line, or ACK / PASS / DONE. The SMS path calls it with the
    MessageSid as the key; the console with the form's one-time key, so a
    reply typed in the console is relayed exactly as one texted to the line
    is, and a form sent twice acts once."""
    # Lock the contact before writing anything that refers to it: the event's
    # foreign key takes a share lock on the contact row, and two replies each
    # holding one while waiting to lock it for update deadlock (PostgreSQL).
    contact = contacts.lock_contact(session=session, contact_id=contact_id)
    assert contact is not None  # the callers found it (the SMS reply, the console form)
    # Idempotency: this key now belongs to this contact's timeline.
    event = ContactEvent(
        contact_id=contact.id,
        at=now,
        kind=EventKind.STAFF_REPLY,
        staff_id=staff.id,
        idempotency_key=idempotency_key,
        data={"command": reply.command} if reply.command else {"relayed": True},
    )
    # The carrier blocks texts to them: they could not read the client's
    # words, so by text they neither take nor close the contact (their words
    # are still relayed, and it goes on to people who can be reached).
    cannot_read = staff.sms_opted_out and reply.command in ("ACK", "DONE")
    if cannot_read:
        event.data = {**event.data, "refused": "sms_opted_out"}
    if not contacts.insert_idempotent(session=session, event=event):
        return "duplicate"
    if cannot_read:
        return "refused"

    if reply.command == "ACK":
        _take(session, team, contact, staff, now, via="sms_ack")
        if contact.acknowledged_by in (None, staff.id):
            answer = _(
                staff.language, "#{id} is yours. Reply to text the caller, DONE when resolved."
            ).format(id=contact.id)
        else:  # a colleague took it first: two people must not both think they hold it
            answer = _(
                staff.language,
                "#{id} was already taken by a colleague. Text WHO to see who is on call.",
            ).format(id=contact.id)
        reply_to_staff(session, team, staff, answer, now, contact_id=contact.id)
        return "ack"
    if reply.command == "PASS":
        return _pass(session, team, contact, staff, now, settings)
    if reply.command == "KEEP":
        return _keep(session, team, contact, staff, now)
    if reply.command == "DONE":
        contacts.resolve(
            session=session, contact=contact, at=now, staff_id=staff.id, via="sms_done"
        )
        reply_to_staff(
            session,
            team,
            staff,
            _(staff.language, "#{id} resolved. Please record the outcome in crisisroute.").format(
                id=contact.id
            ),
            now,
            contact_id=contact.id,
        )
        return "done"
    return _relay(session, team, contact, staff, reply.text, now)


def help_rate_limited(session: Session, team: Team, staff: Staff, body: str, now: datetime) -> None:
    """Help text, at most once every HELP_RATE_LIMIT: a staff member texting
    something the line cannot place is not answered on every text."""
    recent = session.execute(
        select(col(OutboundMessage.id)).where(
            col(OutboundMessage.to_number) == staff.phone,
            col(OutboundMessage.purpose) == MessagePurpose.HELP,
            col(OutboundMessage.created_at) > now - HELP_RATE_LIMIT,
        )
    ).first()
    if recent is None:
        reply_to_staff(session, team, staff, body, now, purpose=MessagePurpose.HELP)


def _take(
    session: Session, team: Team, contact: Contact, staff: Staff, now: datetime, via: str
) -> None:
    if staff.sms_opted_out:
        return  # they could not read the client's next words (act_on_contact)
    if contact.status in (ContactStatus.OPEN, ContactStatus.UNANSWERED):
        if contact.status == ContactStatus.UNANSWERED:
            contact.status = ContactStatus.OPEN  # a late answer still counts, on the record
        contacts.acknowledge(session=session, contact=contact, staff_id=staff.id, at=now, via=via)
        if contact.acknowledged_by == staff.id:
            conversation.catch_up(session=session, team=team, contact=contact, staff=staff, now=now)


def _relay(
    session: Session, team: Team, contact: Contact, staff: Staff, text: str, now: datetime
) -> str:
    if not text:
        help_rate_limited(session, team, staff, texts.staff_help(staff.language), now)
        return "empty"
    if contact.channel == Channel.SMS and not is_opted_out(
        session=session, team_id=team.id, number=contact.from_number
    ):
        # Twilio refuses a body over 1,600 characters: a long reply goes in numbered parts.
        message_ids = []
        for part in texts.relay_to_client(body=text):
            message = enqueue(
                session=session,
                team=team,
                to_number=contact.from_number,
                body=part,
                purpose=MessagePurpose.RELAY,
                contact_id=contact.id,
                staff_id=staff.id,
                now=now,
            )
            if message is not None:
                message_ids.append(message.id)
        contacts.record_event(
            session=session,
            contact=contact,
            kind=EventKind.RELAYED,
            at=now,
            staff_id=staff.id,
            data={
                "message_id": message_ids[0] if message_ids else None,
                "message_ids": message_ids,
                "body": text,
            },
        )
        contacts.mark_responded(contact=contact, at=now)
    else:
        reply_to_staff(
            session,
            team,
            staff,
            _(
                staff.language,
                "#{id} cannot be texted (opted out or a call). Please call {number}.",
            ).format(id=contact.id, number=contact.from_number),
            now,
            contact_id=contact.id,
        )
    _take(session, team, contact, staff, now, via="sms_reply")
    if contact.acknowledged_by == staff.id:
        handover.holder_answered(contact=contact)
    session.add(contact)
    return "relayed"


def _keep(session: Session, team: Team, contact: Contact, staff: Staff, now: datetime) -> str:
    """The holder stays with the contact: after their shift ended, or after
    a page that the client is waiting."""
    if contact.status != ContactStatus.ACKNOWLEDGED or contact.acknowledged_by != staff.id:
        reply_to_staff(
            session,
            team,
            staff,
            _(
                staff.language,
                "#{id} is not yours to keep ({status}). Text WHO to see who is on call.",
            ).format(id=contact.id, status=contact.status),
            now,
            contact_id=contact.id,
        )
        return "keep_refused"
    handover.keep(session=session, contact=contact, staff_id=staff.id, now=now, via="sms")
    reply_to_staff(
        session,
        team,
        staff,
        texts.kept(contact_id=contact.id, lang=staff.language),
        now,
        contact_id=contact.id,
    )
    return "keep"


def _pass(
    session: Session, team: Team, contact: Contact, staff: Staff, now: datetime, settings: Settings
) -> str:
    """Decline: the next level is notified now. A PASS from someone the
    contact has already moved past (a late reply from level 1 while level 2
    is being tried) is noted but moves nothing: it must not cut short the
    time the current level has to answer."""
    holder = contact.status == ContactStatus.ACKNOWLEDGED and contact.acknowledged_by == staff.id
    if holder and (not contact.plan or contact.level >= len(contact.plan)):
        # Past the plan's last level nobody is left to take it: the contact
        # stays with the person who holds it rather than with nobody.
        reply_to_staff(
            session,
            team,
            staff,
            _(
                staff.language,
                "#{id} stays with you: nobody is left in its plan to pass it to. "
                "Call a supervisor to hand it over.",
            ).format(id=contact.id),
            now,
            contact_id=contact.id,
        )
        return "pass_refused"
    contacts.record_pass(session=session, contact=contact, staff_id=staff.id, at=now)
    if (
        contact.status == ContactStatus.OPEN
        and not holder
        and not _at_current_level(contact, staff)
    ):
        reply_to_staff(
            session,
            team,
            staff,
            _(
                staff.language, "#{id} has already moved on to the next people; nothing to pass."
            ).format(id=contact.id),
            now,
            contact_id=contact.id,
        )
        return "pass_noted"
    moved = engine.advance(
        session=session, contact=contact, team=team, now=now, reason="pass", settings=settings
    )
    reply_to_staff(
        session,
        team,
        staff,
        _(staff.language, "#{id} passed to the next level.").format(id=contact.id)
        if moved
        else _(staff.language, "#{id} cannot be passed now ({status}).").format(
            id=contact.id, status=contact.status
        ),
        now,
        contact_id=contact.id,
    )
    return "pass"


def _at_current_level(contact: Contact, staff: Staff) -> bool:
    if not contact.plan or not 1 <= contact.level <= len(contact.plan):
        return False
    return staff.id in (contact.plan[contact.level - 1].get("staff_ids") or [])
