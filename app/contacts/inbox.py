"""The inbox: inbound SMS recorded first, routed next.

`record_sms` is all the webhook does: one idempotent INSERT keyed by
MessageSid, so Twilio is answered in about a millisecond of work whatever the
routing costs, and a retry of the same MessageSid is the same row.

`route_pending` is the worker's half: it takes pending rows oldest first, one
transaction each (route the text + mark the row processed commit together,
so a crash re-routes at most the one text it was holding, and routing is
idempotent on MessageSid anyway). A sender's texts are routed in the order
they arrived, also across instances. A row whose routing raises is retried
with backoff; after MAX_ATTEMPTS it is marked `failed`, logged as an error
and counted, so it can neither block its sender's later texts nor vanish.
"""

from __future__ import annotations

import traceback
from datetime import datetime, timedelta

import structlog
from sqlalchemy import exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from app.contacts.inbound import InboundSms, handle_inbound_sms
from app.messaging.models import InboxMessage
from app.ops.metrics import INBOX_ROUTED
from app.teams.models import Team
from app.teams.phones import e164_or_raw

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 5
BATCH = 100

_OLDER = aliased(InboxMessage, name="older_inbox_message")


def retry_delay(attempts: int) -> timedelta:
    """2, 4, 8, 16 s: a transient fault (a deadlock, a restart) clears fast."""
    return timedelta(seconds=2 ** attempts)


def record_sms(db, *, message_sid: str, to_number: str, from_number: str, body: str, now: datetime) -> bool:
    """Write the text as received. False when this MessageSid is already here
    (Twilio retried): nothing is written twice."""
    dialect = postgresql if db.is_postgres else sqlite
    statement = dialect.insert(InboxMessage.__table__).values(
        message_sid=message_sid, to_number=to_number, from_number=from_number, body=body,
        received_at=now, attempts=0,
    ).on_conflict_do_nothing(index_elements=["message_sid"])
    with db.session() as session:
        return session.execute(statement).rowcount == 1


def _next_pending(session, *, now: datetime, is_postgres: bool) -> InboxMessage | None:
    older = _OLDER
    query = (
        select(InboxMessage)
        .where(InboxMessage.processed_at.is_(None),
               or_(InboxMessage.next_attempt_at.is_(None), InboxMessage.next_attempt_at <= now))
        # Never overtake an earlier text from the same sender to the same line
        # (the first opens the contact, the second continues it), even one
        # another instance is routing right now or one waiting for a retry.
        .where(~exists().where(older.to_number == InboxMessage.to_number,
                               older.from_number == InboxMessage.from_number,
                               older.id < InboxMessage.id, older.processed_at.is_(None)))
        .order_by(InboxMessage.id)
        .limit(1)
    )
    if is_postgres:
        query = query.with_for_update(skip_locked=True)
    return session.execute(query).scalars().first()


def route_message(*, session, message: InboxMessage, now: datetime, settings) -> str:
    """Route one recorded text (decisions in `contacts.inbound`)."""
    team = session.execute(select(Team).where(Team.crisis_line_number == message.to_number)).scalars().first()
    if team is None:  # the line was released after the text was accepted
        log.error("inbox_line_without_team", inbox_id=message.id, to=message.to_number)
        return "unknown_line"
    sms = InboundSms(message_sid=message.message_sid, from_number=e164_or_raw(message.from_number, team.region),
                     body=message.body)
    return handle_inbound_sms(session=session, team=team, sms=sms, now=now, settings=settings)


def route_pending(runtime, *, limit: int = BATCH) -> int:
    """Route up to `limit` pending texts. Returns how many rows were handled."""
    handled = 0
    while handled < limit:
        with runtime.db.session() as session:
            now = runtime.now()
            message = _next_pending(session, now=now, is_postgres=runtime.db.is_postgres)
            if message is None:
                break
            try:
                with session.begin_nested():
                    outcome = route_message(session=session, message=message, now=now, settings=runtime.settings)
            except Exception as exc:  # routing failed: the text stays pending, retried later
                _routing_failed(message, exc, now)
            else:
                message.processed_at = now
                message.outcome = outcome
                INBOX_ROUTED.labels(outcome).inc()
            session.add(message)
        handled += 1
    return handled


def _where(exc: Exception) -> str:
    """file:line of the innermost frame: enough to find the bug, and unlike
    the exception's text it cannot carry a phone number or a message body."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"


def _routing_failed(message: InboxMessage, exc: Exception, now: datetime) -> None:
    message.attempts += 1
    message.last_error = f"{type(exc).__name__} at {_where(exc)}"[:200]
    if message.attempts >= MAX_ATTEMPTS:
        message.processed_at = now
        message.outcome = "failed"
        INBOX_ROUTED.labels("failed").inc()
        log.error("inbox_routing_gave_up", inbox_id=message.id, attempts=message.attempts,
                  error=message.last_error)
        return
    message.next_attempt_at = now + retry_delay(message.attempts)
    log.error("inbox_routing_failed", inbox_id=message.id, attempts=message.attempts,
              error=message.last_error)


def pending_count(session) -> int:
    from sqlalchemy import func

    return session.execute(select(func.count()).select_from(InboxMessage)
                           .where(InboxMessage.processed_at.is_(None))).scalar_one()
