"""The page call use case: a person's call rule rang their phone
(app.escalation.paging), and Twilio asks what to say and reports what happened.

    answered      "Crisis text for <team>, from <name>. Press 1 to take it. Press 2 to pass."
    pressed 1     acknowledged by that person (the first wins; a later one hears
                  who has it); they hear "It is yours…" and get the link by SMS
    pressed 2     PASS: the next level now
    anything else nothing: the next rule or level comes on its own clock
    call status   completed without a digit (a voicemail or silence), busy,
                  no-answer, failed: recorded, nothing acknowledged

Only a pressed 1 that this service recorded acknowledges: a voicemail greeting
never presses anything. Every leg is a timeline event keyed (CallSid, step),
so Twilio's repeats change nothing and get the same answer back.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlmodel import col

if TYPE_CHECKING:
    from app.runtime import Runtime
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlmodel import Session

from app.clients.models import Client
from app.contacts import service as contacts
from app.contacts.models import Contact, ContactEvent, ContactStatus, EventKind
from app.escalation import engine, handover, paging, staff_texts
from app.i18n import SOURCE_LANGUAGE
from app.messaging import texts
from app.messaging.models import CALL_ENDED, MessagePurpose, OutboundMessage
from app.messaging.outbox import enqueue
from app.teams.models import Staff, Team

log = structlog.get_logger(__name__)

TAKE, PASS = "1", "2"


@dataclass(frozen=True)
class Ask:
    """The question, with the keys pressed posted back to page-result."""

    prompt: str
    language: str = "en"


@dataclass(frozen=True)
class Tell:
    """Something said, then the call ends."""

    text: str
    language: str = "en"


PageAnswer = Ask | Tell


@dataclass(frozen=True)
class Leg:
    """Which page this call is: from the URL the call was placed with."""

    contact_id: int
    level: int
    staff_id: int
    purpose: str
    call_sid: str


def _record(
    session: Session, contact: Contact, kind: str, leg: Leg, step: str, now: datetime, **data: Any
) -> bool:
    event = ContactEvent(
        contact_id=contact.id,
        at=now,
        kind=kind,
        idempotency_key=f"{leg.call_sid}:{step}",
        staff_id=leg.staff_id,
        level=leg.level,
        data={"purpose": leg.purpose, **data},
    )
    if not contacts.insert_idempotent(session=session, event=event):
        return False
    contact.updated_at = now
    session.add(contact)
    return True


def _still_open(contact: Contact, leg: Leg) -> bool:
    """Whether the question the call asks still stands."""
    if leg.purpose in paging.TO_HOLDER:
        return paging.holder_still_asked(leg.purpose, leg.staff_id, contact)
    return contact.status == ContactStatus.OPEN or (
        leg.purpose in paging.ALERTS and contact.status == ContactStatus.UNANSWERED
    )


def _outcome_for_holder(session: Session, contact: Contact, leg: Leg) -> Tell:
    lang = _language(session, leg)
    if contact.acknowledged_by == leg.staff_id:
        return Tell(texts.page_call_taken(lang), lang)
    if contact.acknowledged_by is not None:
        holder = session.get(Staff, contact.acknowledged_by)
        return Tell(texts.page_call_taken_by(holder.name if holder else None, lang), lang)
    return Tell(texts.page_call_not_needed(lang), lang)


def _language(session: Session, leg: Leg) -> str:
    """The paged person's own language: what they hear."""
    staff = session.get(Staff, leg.staff_id)
    return staff.language if staff else SOURCE_LANGUAGE


def answered(runtime: Runtime, leg: Leg) -> tuple[str, PageAnswer | None]:
    """The paged person picked up (or a voicemail did): ask them."""
    with runtime.db.session() as session:
        contact = session.get(Contact, leg.contact_id)
        if contact is None or session.get(Staff, leg.staff_id) is None:
            return "unknown_contact", None
        fresh = _record(session, contact, EventKind.PAGE_CALL_ANSWERED, leg, "page", runtime.now())
        if not _still_open(contact, leg):
            return "not_needed", _outcome_for_holder(session, contact, leg)
        team = session.get_one(Team, contact.team_id)
        client = session.get(Client, contact.client_id) if contact.client_id else None
        lang = _language(session, leg)
        if leg.purpose in paging.TO_HOLDER:
            prompt = texts.page_call_holder_prompt(
                contact_id=contact.id, team_name=team.name, purpose=leg.purpose, lang=lang
            )
            return ("asked" if fresh else "duplicate"), Ask(prompt, lang)
        prompt = texts.page_call_prompt(
            team_name=team.name,
            who=texts.page_call_who(client.preferred_name if client else None, lang),
            lang=lang,
            channel=contact.channel,
        )
        return ("asked" if fresh else "duplicate"), Ask(prompt, lang)


def pressed(runtime: Runtime, leg: Leg, digits: str) -> tuple[str, PageAnswer | None]:
    """What the paged person pressed (empty when nothing was)."""
    with runtime.db.session() as session:
        contact = contacts.lock_contact(session=session, contact_id=leg.contact_id)
        staff = session.get(Staff, leg.staff_id)
        if contact is None or staff is None:
            return "unknown_contact", None
        now = runtime.now()
        fresh = _record(
            session,
            contact,
            EventKind.PAGE_CALL_PRESSED,
            leg,
            "page-result",
            now,
            digits=digits or None,
        )
        press = _Press(session, runtime, contact, staff, leg, now, fresh)
        if leg.purpose in paging.TO_HOLDER:
            return _keep(press, digits)
        if digits == TAKE:
            return _take(press)
        if digits == PASS:
            return _pass(press)
        return "nothing", Tell(texts.page_call_nothing_pressed(staff.language), staff.language)


class _Press(NamedTuple):
    """A digit pressed on a page call, with what acting on it reads;
    `fresh`: this press is recorded for the first time."""

    session: Session
    runtime: Runtime
    contact: Contact
    staff: Staff
    leg: Leg
    now: datetime
    fresh: bool


def _keep(press: _Press, digits: str) -> tuple[str, PageAnswer]:
    """A page to the holder: 1 keeps the contact, as KEEP by SMS does;
    anything else leaves the clock running (the contact then moves on)."""
    session, runtime, contact, staff, leg, now, fresh = press
    if digits != TAKE:
        return "nothing", Tell(texts.page_call_nothing_pressed(staff.language), staff.language)
    if not fresh:
        return "duplicate", Tell(texts.page_call_kept(staff.language), staff.language)
    if not _still_open(contact, leg):
        return "not_needed", _outcome_for_holder(session, contact, leg)
    handover.keep(session=session, contact=contact, staff_id=staff.id, now=now, via="page_call")
    return "kept", Tell(texts.page_call_kept(staff.language), staff.language)


def _take(press: _Press) -> tuple[str, PageAnswer]:
    """Pressed 1: the same rules as an SMS ACK. The first wins; the holder
    gets the conversation link by SMS (unless they opted out of texts)."""
    session, runtime, contact, staff, leg, now, fresh = press
    if not fresh:
        return "duplicate", _outcome_for_holder(session, contact, leg)
    if not _still_open(contact, leg):
        return "already_taken", _outcome_for_holder(session, contact, leg)
    if contact.status == ContactStatus.UNANSWERED:
        contact.status = ContactStatus.OPEN  # a late answer still counts, on the record
    contacts.acknowledge(
        session=session, contact=contact, staff_id=staff.id, at=now, via="page_call"
    )
    team = session.get(Team, contact.team_id)
    link = staff_texts.plan_link(session, contact, staff.id, now, runtime.settings)
    enqueue(
        session=session,
        team=team,
        to_number=staff.phone,
        body=texts.page_call_yours_sms(contact_id=contact.id, link=link, lang=staff.language),
        purpose=MessagePurpose.COMMAND_REPLY,
        contact_id=contact.id,
        staff_id=staff.id,
        now=now,
    )
    log.info("page_call_taken", contact_id=contact.id, level=leg.level)
    return "taken", Tell(texts.page_call_taken(staff.language), staff.language)


def _pass(press: _Press) -> tuple[str, PageAnswer]:
    """Pressed 2: PASS, as by SMS: the next level now, if this person is
    being asked at the contact's current level."""
    session, runtime, contact, staff, leg, now, fresh = press
    if not fresh:
        return "duplicate", Tell(texts.page_call_passed(staff.language), staff.language)
    if not _still_open(contact, leg):
        return "already_taken", _outcome_for_holder(session, contact, leg)
    contacts.record_pass(
        session=session, contact=contact, staff_id=staff.id, at=now, data={"via": "page_call"}
    )
    if (
        contact.status == ContactStatus.OPEN
        and contact.level == leg.level
        and leg.purpose not in paging.ALERTS
    ):
        team = session.get_one(Team, contact.team_id)
        engine.advance(
            session=session,
            contact=contact,
            team=team,
            now=now,
            reason="pass",
            settings=runtime.settings,
        )
    return "passed", Tell(texts.page_call_passed(staff.language), staff.language)


def call_ended(runtime: Runtime, leg: Leg, status: str, duration: str | None) -> str:
    """The page call's final status. Nothing is acknowledged here: a
    `completed` call without a pressed 1 was a voicemail or silence."""
    with runtime.db.session() as session:
        contact = session.get(Contact, leg.contact_id)
        if contact is None:
            return "unknown_contact"
        now = runtime.now()
        if not _record(
            session,
            contact,
            EventKind.PAGE_CALL_ENDED,
            leg,
            "status:final",
            now,
            status=status,
            duration=duration,
        ):
            return "duplicate"
        message = (
            session.execute(
                select(OutboundMessage).where(col(OutboundMessage.provider_sid) == leg.call_sid)
            )
            .scalars()
            .first()
        )
        if message is not None and message.status not in CALL_ENDED:
            message.status = status if status in CALL_ENDED else "completed"
            message.updated_at = now
            session.add(message)
        return status
