"""Stuck texts tried again: full routing first (app.inbound.inbox), else the
minimal plan (app.inbound.dead_letter), else stuck for another minute."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import select
from sqlmodel import Session, col

from app.inbound import dead_letter, inbox
from app.messaging.models import InboxMessage
from app.settings import Settings

if TYPE_CHECKING:
    from app.runtime import Runtime

log = structlog.get_logger(__name__)


def retry_stuck(runtime: Runtime, *, batch: int = 100) -> int:
    """Every stuck text whose minute has come: full routing, else the minimal
    plan, else stuck for another minute. Each text in its own transaction,
    claimed FOR UPDATE SKIP LOCKED (one instance retries it). Returns how
    many were routed."""
    now = runtime.now()
    with runtime.db.session() as session:
        due = list(
            session.execute(
                select(col(InboxMessage.id))
                .where(
                    col(InboxMessage.outcome) == dead_letter.STUCK,
                    col(InboxMessage.next_attempt_at) <= now,
                )
                .order_by(col(InboxMessage.id))
                .limit(batch)
            ).scalars()
        )
    routed = 0
    for message_id in due:
        with runtime.db.session() as session:
            query = select(InboxMessage).where(
                col(InboxMessage.id) == message_id, col(InboxMessage.outcome) == dead_letter.STUCK
            )
            if runtime.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            message = session.execute(query).scalars().first()
            if message is None:
                continue
            outcome = _try_again(session, message, now, runtime.settings)
            if outcome is None:
                message.attempts += 1
                message.next_attempt_at = now + dead_letter.RETRY_EVERY
            else:
                message.outcome = outcome
                message.processed_at = now
                message.next_attempt_at = None
                routed += 1
                log.warning("inbox_text_unstuck", inbox_id=message.id, outcome=outcome)
            session.add(message)
    dead_letter.refresh_gauge(runtime.db)
    return routed


def _try_again(
    session: Session, message: InboxMessage, now: datetime, settings: Settings
) -> str | None:
    """Routing as usual, then the minimal plan, each in a savepoint; None when both raise."""
    try:
        with session.begin_nested():
            return inbox.route_message(session=session, message=message, now=now, settings=settings)
    except Exception as exc:
        message.last_error = inbox.describe_error(exc)
    try:
        with session.begin_nested():
            return dead_letter.open_minimal(
                session=session, message=message, now=now, settings=settings, why=message.last_error
            )
    except Exception as exc:
        message.last_error = inbox.describe_error(exc)
        return None
