"""Nothing accepted is dropped.

A text whose routing raised MAX_ATTEMPTS times (`inbox._route_one`) is opened
as a contact with the minimal plan: who is on call now, then the
supervisors, then the fallback (`routing.minimal_plan`), without the client's
plan, policy or working hours that routing may have tripped on; the timeline
says why (`routing_failed`). When even that raises, the text is `stuck`: a
row in `inbox_message` (outcome `stuck`), counted by the
`crisisroute_stuck_texts` gauge, listed by `GET /v1/teams/{id}/stuck`, and
tried again every minute (`retry_stuck`, the worker's `retry_stuck_texts`
job): full routing first, then the minimal plan.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import func, select
from sqlmodel import Session, col

from app.contacts import service as contacts
from app.contacts.models import Channel, ContactEvent, EventKind
from app.db import Database
from app.escalation import engine, planning
from app.inbound import conversation
from app.inbound.opening import (
    CallerIdentity,
    identify_caller,
    new_contact,
    open_contact,
    send_auto_reply,
)
from app.inbound.sms import serialize_sender
from app.messaging import texts
from app.messaging.models import InboxMessage
from app.oncall.service import oncall_snapshot
from app.ops.metrics import STUCK_TEXTS
from app.routing import RotaOnCallInfo, minimal_plan
from app.settings import Settings
from app.teams.models import Team
from app.teams.phones import e164_or_raw
from app.teams.service import active_supervisors

if TYPE_CHECKING:
    pass

log = structlog.get_logger(__name__)

STUCK = "stuck"
RETRY_EVERY = timedelta(minutes=1)


def _caller(session: Session, team: Team, number: str) -> CallerIdentity:
    """Who the sender is, or an unknown caller when even that lookup fails."""
    try:
        with session.begin_nested():
            return identify_caller(session=session, team_id=team.id, number=number)
    except Exception as exc:
        log.error("minimal_caller_unknown", team_id=team.id, error=type(exc).__name__)
        return CallerIdentity(client_id=None, relation=None)


def _on_call(session: Session, team: Team, now: datetime) -> list[RotaOnCallInfo]:
    """Who the rotas have on call now; none when the rotas cannot be read
    (the supervisors and the fallback remain)."""
    try:
        with session.begin_nested():
            return [
                RotaOnCallInfo(rota_id=r.rota_id, priority=r.priority, staff_id=r.staff_id)
                for r in oncall_snapshot(session=session, team_id=team.id, at=now)
            ]
    except Exception as exc:
        log.error("minimal_oncall_unread", team_id=team.id, error=type(exc).__name__)
        return []


def open_minimal(
    *, session: Session, message: InboxMessage, now: datetime, settings: Settings, why: str
) -> str:
    """Put a text routing could not handle in front of a human: on the
    sender's open contact when there is one (its people see the words), else
    on a new contact with the minimal plan. Returns the inbox outcome."""
    team = session.execute(
        select(Team).where(col(Team.crisis_line_number) == message.to_number)
    ).scalar_one_or_none()
    if team is None:
        return "unknown_line"
    number = e164_or_raw(message.from_number, team.region)
    serialize_sender(session=session, team_id=team.id, number=number)
    if contacts.event_seen(session=session, idempotency_key=message.message_sid):
        return "duplicate"
    # open_contact sets contact_id once the contact is stored.
    received = ContactEvent(  # type: ignore[call-arg]
        at=now,
        kind=EventKind.RECEIVED,
        idempotency_key=message.message_sid,
        data={"body": message.body},
    )
    why_data = {"reason": "routing_failed", "error": why, "attempts": message.attempts}
    contact = contacts.open_contact_for(session=session, team_id=team.id, from_number=number)
    if contact is not None:
        received.contact_id = contact.id
        session.add(received)
        contacts.record_event(
            session=session, contact=contact, kind=EventKind.ROUTING_FAILED, at=now, data=why_data
        )
        conversation.relay_client_words(
            session=session, team=team, contact=contact, body=message.body, now=now
        )
        contact.updated_at = now
        session.add(contact)
        log.warning("text_continued_minimal", contact_id=contact.id, team_id=team.id)
        return "continued_minimal"
    caller = _caller(session, team, number)
    contact = new_contact(
        team=team,
        channel=Channel.SMS,
        from_number=number,
        caller=caller,
        now=now,
        priority="normal",
        language=team.default_language,
        plan=[],
    )
    levels = minimal_plan(
        on_call=_on_call(session, team, now),
        supervisor_ids=[s.id for s in active_supervisors(session=session, team_id=team.id)],
        timeout_seconds=team.ack_timeout_seconds,
        fallback_number=team.fallback_number,
    )
    planning.set_route(contact, levels, now)
    open_contact(session=session, contact=contact, caller=caller, received=received, now=now)
    contacts.record_event(
        session=session, contact=contact, kind=EventKind.ROUTING_FAILED, at=now, data=why_data
    )
    send_auto_reply(
        session=session,
        team=team,
        contact=contact,
        to_number=number,
        body=texts.team_text(team, "auto_reply_text", contact.language),
        now=now,
    )
    engine.start(
        session=session, contact=contact, team=team, now=now, settings=settings, levels=levels
    )
    log.warning("contact_opened_minimal", contact_id=contact.id, team_id=team.id)
    return "opened_minimal"


def mark_stuck(message: InboxMessage, now: datetime) -> None:
    """Dead letter: routed by nobody yet, kept, counted, listed, retried."""
    message.processed_at = now
    message.outcome = STUCK
    message.next_attempt_at = now + RETRY_EVERY
    log.error(
        "inbox_text_stuck", inbox_id=message.id, attempts=message.attempts, error=message.last_error
    )


def stuck_count(session: Session) -> int:
    count: int = session.execute(
        select(func.count()).select_from(InboxMessage).where(col(InboxMessage.outcome) == STUCK)
    ).scalar_one()
    return count


def refresh_gauge(db: Database) -> int:
    with db.session() as session:
        count = stuck_count(session)
    STUCK_TEXTS.set(count)
    return count


def stuck_on_line(session: Session, line: str, *, limit: int, offset: int) -> list[InboxMessage]:
    return list(
        session.execute(
            select(InboxMessage)
            .where(col(InboxMessage.outcome) == STUCK, col(InboxMessage.to_number) == line)
            .order_by(col(InboxMessage.id))
            .offset(offset)
            .limit(limit)
        ).scalars()
    )
