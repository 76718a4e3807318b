"""The escalation tick: every contact whose deadline passed, advanced,
re-alerted or asked about, once, whichever instance gets there first; a
level whose notifications have not left yet waits for them."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlmodel import Session, col

from app.contacts.models import Contact, ContactEvent, ContactStatus, EventKind
from app.db import Database
from app.escalation.due_rules import fire_due
from app.escalation.engine import advance, only_calls_reach_level, realert_unanswered
from app.escalation.handover import reply_overdue
from app.messaging.models import FINAL_FAILURES, MessagePurpose, OutboundMessage, OutboxStatus
from app.routing import plan_from_json
from app.settings import Settings
from app.teams.models import Team

log = structlog.get_logger(__name__)

# What a due contact that is not waiting on its level gets: the supervisors
# alerted again (unanswered), or its holder reminded or handed on (held).
_OVERDUE = {
    ContactStatus.UNANSWERED: realert_unanswered,
    ContactStatus.ACKNOWLEDGED: reply_overdue,
}


# How often a level whose notifications have not left yet is looked at again.
NOT_SENT_POLL = timedelta(seconds=10)
_STILL_LEAVING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def wait_for_notifications(*, session: Session, contact: Contact, now: datetime) -> datetime | None:
    """When the current level's time is up but its notifications have not
    left (Twilio unreachable, retrying), or left later than the level began:
    the new deadline, counted from when they left. None: the level really
    had its time. A carrier failure is not "nobody answered"."""
    if not contact.plan or not 1 <= contact.level <= len(contact.plan):
        return None
    level = plan_from_json(contact.plan)[contact.level - 1]
    if level.kind == "fallback" or contact.next_escalation_at is None:
        return None
    team = session.get_one(Team, contact.team_id)
    if only_calls_reach_level(session=session, contact=contact, team=team, now=now):
        return None  # the level's time is its calls' (engine.level_unreadable)
    timeout = timedelta(seconds=level.timeout_seconds)
    if contact.priority == "high":
        # A priority raised by a later text shortens the level's wait
        # (inbound.sms.raise_priority) while its plan keeps the longer timeout.
        timeout = min(
            timeout,
            timedelta(seconds=min(team.priority_ack_timeout_seconds, team.ack_timeout_seconds)),
        )
    # When this level was told (a replanned contact reuses level numbers: the latest).
    began = session.execute(
        select(func.max(ContactEvent.at)).where(
            col(ContactEvent.contact_id) == contact.id,
            col(ContactEvent.kind) == EventKind.NOTIFIED,
            col(ContactEvent.level) == contact.level,
        )
    ).scalar_one_or_none()
    if began is None:
        return None
    rows = session.execute(
        select(col(OutboundMessage.status), col(OutboundMessage.updated_at)).where(
            col(OutboundMessage.contact_id) == contact.id,
            col(OutboundMessage.level) == contact.level,
            col(OutboundMessage.purpose) == MessagePurpose.NOTIFY,
            OutboundMessage.created_at >= began,
        )
    ).all()
    if any(status in _STILL_LEAVING for status, _ in rows):
        return now + NOT_SENT_POLL
    left = [at for status, at in rows if status not in FINAL_FAILURES]
    if left:
        due = max(left) + timeout
        if due > now:
            return due
    return None


def tick(*, db: Database, now: datetime, settings: Settings, batch: int = 100) -> int:
    """Advance every contact whose deadline has passed. Rows are claimed with
    FOR UPDATE SKIP LOCKED, so several instances share the work and none
    advances a contact another is advancing. Each contact is its own savepoint:
    one failure does not hold back the others. Notification rules that fell
    due (a call a minute after the text) fire first."""
    fire_due(db=db, now=now, settings=settings)
    advanced = 0
    while True:
        with db.session() as session:
            query = (
                select(Contact)
                .where(
                    col(Contact.status).in_(
                        (ContactStatus.OPEN, ContactStatus.UNANSWERED, ContactStatus.ACKNOWLEDGED)
                    ),
                    col(Contact.next_escalation_at) <= now,
                )
                .order_by(col(Contact.next_escalation_at), col(Contact.id))
                .limit(batch)
            )
            if db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            due = list(session.execute(query).scalars())
            for contact in due:
                try:
                    with session.begin_nested():
                        team = session.get_one(Team, contact.team_id)
                        if contact.status in _OVERDUE:
                            _OVERDUE[contact.status](
                                session=session,
                                contact=contact,
                                team=team,
                                now=now,
                                settings=settings,
                            )
                        elif (
                            later := wait_for_notifications(
                                session=session, contact=contact, now=now
                            )
                        ) is not None:
                            contact.next_escalation_at = later
                            session.add(contact)
                        elif advance(
                            session=session,
                            contact=contact,
                            team=team,
                            now=now,
                            reason="timeout",
                            settings=settings,
                        ):
                            advanced += 1
                        else:
                            contact.next_escalation_at = None
                except Exception as exc:
                    log.error(
                        "escalation_failed",
                        contact_id=contact.id,
                        error=type(exc).__name__,
                        exc_info=exc,
                    )
                    # Try again shortly rather than spin on it every tick.
                    contact.next_escalation_at = now + timedelta(seconds=5)
                    session.add(contact)
        if len(due) < batch:
            return advanced
