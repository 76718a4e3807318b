"""An inbound SMS on a crisis line, from webhook to decisions.

Read top to bottom: who sent it → record it (idempotently) → continue or open
a contact → auto-reply → plan and notify. Staff replies go to
`staff_sms`. Everything is written in the caller's transaction; outbound
messages are outbox rows dispatched after commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import text
from sqlmodel import Session

from app.contacts import service as contacts
from app.contacts.models import Channel, Contact, ContactEvent, ContactStatus, EventKind
from app.escalation import engine, handover, planning
from app.inbound import conversation, keywords, language
from app.inbound.message import InboundSms
from app.inbound.opening import identify_caller, new_contact, open_contact, send_auto_reply
from app.inbound.staff_sms import handle_staff_reply
from app.messaging import texts
from app.messaging.models import MessagePurpose
from app.messaging.outbox import enqueue, is_opted_out, set_opt_out
from app.settings import Settings
from app.teams.models import Staff, Team
from app.teams.service import team_staff

log = structlog.get_logger(__name__)


def staff_by_phone(*, session: Session, team_id: int, number: str) -> Staff | None:
    # From the team's rows, which routing reads anyway: one query fewer a text.
    return next(
        (s for s in team_staff(session=session, team_id=team_id) if s.phone == number), None
    )


def serialize_sender(*, session: Session, team_id: int, number: str) -> None:
    """Two texts from one number handled at the same moment must not both
    find no open contact and open two. PostgreSQL: a lock per (team, number)
    held until commit; SQLite's BEGIN IMMEDIATE already serialises writers."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:team_id, hashtext(:number))"),
            {"team_id": team_id, "number": number},
        )


def handle_inbound_sms(
    *, session: Session, team: Team, sms: InboundSms, now: datetime, settings: Settings
) -> str:
    """Returns what happened ("duplicate", "staff_reply", "opened", "continued", …)."""
    serialize_sender(session=session, team_id=team.id, number=sms.from_number)
    if contacts.event_seen(session=session, idempotency_key=sms.message_sid):
        return "duplicate"

    staff = staff_by_phone(session=session, team_id=team.id, number=sms.from_number)
    if staff is not None:
        return handle_staff_reply(
            session=session, team=team, staff=staff, sms=sms, now=now, settings=settings
        )

    # A carrier keyword changes consent state; it is still a message a human sees.
    word = keywords.keyword(sms.body, opt_out=settings.opt_out_set, opt_in=settings.opt_in_set)
    consent = _consent_change(session=session, team=team, sms=sms, word=word, now=now)
    contact = contacts.open_contact_for(
        session=session, team_id=team.id, from_number=sms.from_number
    )
    if contact is not None:
        return _continue(
            session=session,
            team=team,
            contact=contact,
            sms=sms,
            now=now,
            settings=settings,
            consent=consent,
        )
    return _open(
        session=session,
        team=team,
        sms=sms,
        now=now,
        settings=settings,
        help_keyword=word == keywords.Keyword.HELP,
        consent=consent,
    )


def _consent_change(
    *, session: Session, team: Team, sms: InboundSms, word: str | None, now: datetime
) -> EventKind | None:
    """Mirror the carrier: an opt-out word blocks the number; an opt-in word
    unblocks it only when it is blocked (otherwise "Yes" is just an answer)."""
    if word == keywords.Keyword.OPT_OUT:
        set_opt_out(
            session=session, team_id=team.id, number=sms.from_number, opted_out=True, at=now
        )
        log.info("sms_keyword", team_id=team.id, keyword=word)
        return EventKind.OPT_OUT
    if word == keywords.Keyword.OPT_IN and is_opted_out(
        session=session, team_id=team.id, number=sms.from_number
    ):
        set_opt_out(
            session=session, team_id=team.id, number=sms.from_number, opted_out=False, at=now
        )
        log.info("sms_keyword", team_id=team.id, keyword=word)
        return EventKind.OPT_IN
    return None


def _received_event(contact: Contact | None, sms: InboundSms, now: datetime) -> ContactEvent:
    return ContactEvent(
        # Without a contact yet, open_contact sets the id once the contact is stored.
        contact_id=contact.id if contact else None,  # type: ignore[arg-type]
        at=now,
        kind=EventKind.RECEIVED,
        idempotency_key=sms.message_sid,
        data={"body": sms.body, "media": sms.media} if sms.media else {"body": sms.body},
    )


def _open(
    *,
    session: Session,
    team: Team,
    sms: InboundSms,
    now: datetime,
    settings: Settings,
    help_keyword: bool,
    consent: EventKind | None,
) -> str:
    # HELP from a client of a crisis line is treated as a cry for help, not
    # only the carrier keyword: it opens a contact like any other text.
    caller = identify_caller(session=session, team_id=team.id, number=sms.from_number)
    high = keywords.has_priority_words(sms.body, language.priority_words(team))
    lang = language.number_language(
        session=session, team=team, number=sms.from_number, client_id=caller.client_id
    )
    chosen = language.language_of_text(sms.body)
    contact = new_contact(
        team=team,
        channel=Channel.SMS,
        from_number=sms.from_number,
        caller=caller,
        now=now,
        priority="high" if high else "normal",
        language=chosen[0] if chosen else lang,
        plan=[],  # set_route fills it; given, it spares pydantic's default factory (~90 µs a contact)
    )
    # Planned before the row is written, so it is written once, with its plan.
    levels = planning.plan_route(
        session=session,
        contact=contact,
        team=team,
        now=now,
        channel=Channel.SMS,
        retried_on_database_error=True,
    )
    planning.set_route(contact, levels, now)
    open_contact(
        session=session,
        contact=contact,
        caller=caller,
        received=_received_event(None, sms, now),
        now=now,
    )
    if high:
        _record_priority_raised(session=session, contact=contact, now=now)
    if chosen and chosen[0] != lang:
        _language_changed(session=session, contact=contact, old=lang, chosen=chosen, now=now)
    body = texts.team_text(team, "auto_reply_text", contact.language) + (
        texts.client_help_suffix(contact.language) if help_keyword else ""
    )
    send_auto_reply(
        session=session, team=team, contact=contact, to_number=sms.from_number, body=body, now=now
    )
    if consent is not None:
        contacts.record_event(session=session, contact=contact, kind=consent, at=now)
    engine.start(
        session=session, contact=contact, team=team, now=now, settings=settings, levels=levels
    )
    if consent == EventKind.OPT_OUT:
        # The contact reaches a human by voice: the people paged are told to call.
        conversation.tell_opted_out(
            session=session, team=team, contact=contact, word=sms.body, now=now
        )
    log.info(
        "contact_opened",
        contact_id=contact.id,
        team_id=team.id,
        known_client=caller.client_id is not None,
        priority=contact.priority,
    )
    return "opened"


def _continue(
    *,
    session: Session,
    team: Team,
    contact: Contact,
    sms: InboundSms,
    now: datetime,
    settings: Settings,
    consent: EventKind | None = None,
) -> str:
    if not contacts.insert_idempotent(session=session, event=_received_event(contact, sms, now)):
        return "duplicate"
    contact.updated_at = now
    if contact.priority != "high" and keywords.has_priority_words(
        sms.body, language.priority_words(team)
    ):
        raise_priority(session=session, contact=contact, team=team, now=now)
    chosen = language.language_of_text(sms.body)
    if chosen and chosen[0] != contact.language:
        _language_changed(
            session=session,
            contact=contact,
            old=contact.language,
            chosen=chosen,
            now=now,
        )
        _confirm_language(session=session, team=team, contact=contact, now=now)
        engine.speakers_forward(session=session, contact=contact, team=team, now=now)
    if consent is not None:
        contacts.record_event(session=session, contact=contact, kind=consent, at=now)
    # Before acknowledgement the words go to everyone paged at the current
    # level, after it to the holder.
    if consent == EventKind.OPT_OUT:
        conversation.tell_opted_out(
            session=session, team=team, contact=contact, word=sms.body, now=now
        )
    else:
        if sms.body.strip() or not sms.media:
            conversation.relay_client_words(
                session=session, team=team, contact=contact, body=sms.body, now=now
            )
        if sms.media:
            conversation.tell_media(
                session=session,
                team=team,
                contact=contact,
                media=sms.media,
                now=now,
                settings=settings,
            )
    if contact.status == ContactStatus.ACKNOWLEDGED and contact.acknowledged_by:
        handover.client_waiting(contact=contact, team=team, now=now)
    session.add(contact)
    return "continued"


def _language_changed(
    *,
    session: Session,
    contact: Contact,
    old: str,
    chosen: tuple[str, str],
    now: datetime,
) -> None:
    """The conversation goes on in the language the text asked for or was
    written in, and the number keeps it for next time."""
    contact.language = chosen[0]
    language.remember(
        session=session,
        team_id=contact.team_id,
        number=contact.from_number,
        language=chosen[0],
        now=now,
    )
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.LANGUAGE_CHANGED,
        at=now,
        data={"from": old, "to": chosen[0], "how": chosen[1]},
    )


def _confirm_language(*, session: Session, team: Team, contact: Contact, now: datetime) -> None:
    enqueue(
        session=session,
        team=team,
        to_number=contact.from_number,
        body=texts.language_confirmed(contact.language),
        purpose=MessagePurpose.AUTO_REPLY,
        contact_id=contact.id,
        now=now,
    )


def _record_priority_raised(*, session: Session, contact: Contact, now: datetime) -> None:
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.PRIORITY_RAISED,
        at=now,
        data={"reason": "priority_words"},
    )


def raise_priority(*, session: Session, contact: Contact, team: Team, now: datetime) -> None:
    """A later message with priority words shortens the current wait; never lengthens it."""
    contact.priority = "high"
    _record_priority_raised(session=session, contact=contact, now=now)
    if contact.status == ContactStatus.OPEN and contact.next_escalation_at is not None:
        sooner = now + timedelta(
            seconds=min(team.priority_ack_timeout_seconds, team.ack_timeout_seconds)
        )
        if sooner < contact.next_escalation_at:
            contact.next_escalation_at = sooner
