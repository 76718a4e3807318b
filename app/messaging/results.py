"""What a sender round writes back: Twilio's acceptances, failures and
retries, messages given back unsent, and status callbacks that arrived
before the message's SID was written.

Each function is its own transaction, so a round's sends happen outside any
transaction and a failure hook (escalation) runs in the transaction that
writes the failure.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy import bindparam, delete, select, true
from sqlmodel import Session, col

from app.contacts.models import Contact, ContactStatus
from app.db import Database, table_of
from app.messaging.models import (
    CARRIES_WORDS,
    FINAL_FAILURES,
    EarlyStatusCallback,
    OutboundMessage,
    OutboxStatus,
)
from app.messaging.outbox import advance_status
from app.messaging.senders import SendResult
from app.ops.metrics import CARRIER_UNREACHABLE, OUTBOUND

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 8

# Called in the transaction that marks a message failed; it may queue more
# (the next escalation level), so the caller sends again at once.
FailureHook = Callable[[Session, OutboundMessage, datetime], None]

# Is there an early status callback for any of these messages?
_EARLY_CALLBACK_FOR = (
    select(col(EarlyStatusCallback.id))
    .join(
        OutboundMessage, col(OutboundMessage.provider_sid) == col(EarlyStatusCallback.provider_sid)
    )
    .where(col(OutboundMessage.id).in_(bindparam("ids", expanding=True)))
    .limit(1)
)


def backoff(attempts: int, *, jitter: float | None = None) -> timedelta:
    """1, 2, 4, … seconds, capped at a minute (Twilio outages are usually
    short), spread by ±20 % so a recovered Twilio is not met by every
    waiting message in the same instant."""
    spread = random.uniform(0.8, 1.2) if jitter is None else jitter
    return timedelta(seconds=min(60, 2 ** max(0, attempts - 1)) * spread)


def _gives_up(session: Session, message: OutboundMessage, result: SendResult) -> bool:
    """A permanent failure (Twilio's 4xx) gives up at once. A carrier failure
    (network, timeout, 5xx, 429) is not "nobody answered": a message that
    carries someone's words about a contact is retried until the carrier
    takes it, even once the contact is closed (whoever closed it during the
    outage has not yet read them); another message about a contact still
    open is retried for as long as it stays open; the rest stop after
    MAX_ATTEMPTS."""
    if result.permanent:
        return True
    if message.attempts < MAX_ATTEMPTS:
        return False
    if message.contact_id is None:
        return True
    if message.purpose in CARRIES_WORDS:
        return False

    status = session.execute(
        select(col(Contact.status)).where(col(Contact.id) == message.contact_id)
    ).scalar_one_or_none()
    return status not in (ContactStatus.OPEN, ContactStatus.ACKNOWLEDGED, ContactStatus.UNANSWERED)


# Sends fail for the carrier's reasons this long before the gauge shows it:
# shorter blips are Twilio's ordinary weather, not an outage to page about.
UNREACHABLE_AFTER = timedelta(minutes=2)


class CarrierWatch:
    """Since when every send of this process has failed for the carrier's
    reasons (None: the last send was accepted)."""

    failing_since: datetime | None = None

    @classmethod
    def failed(cls, now: datetime) -> None:
        if cls.failing_since is None:
            cls.failing_since = now
        lasted = now - cls.failing_since
        CARRIER_UNREACHABLE.set(lasted.total_seconds() if lasted >= UNREACHABLE_AFTER else 0)

    @classmethod
    def accepted(cls) -> None:
        if cls.failing_since is not None:
            cls.failing_since = None
            CARRIER_UNREACHABLE.set(0)


def record_accepted(db: Database, accepted: list[tuple[int, SendResult]], now: datetime) -> None:
    """A round's successes in one statement that is its own transaction
    (on SQLite one turn at the write lock for the batch, not one a
    message; on PostgreSQL one round trip), idempotent as write_one needs:
    only a row still `sending` moves. Should the process die before this,
    the rows' leases expire and they are sent again: twice, never zero times."""
    if not accepted:
        return
    CarrierWatch.accepted()
    table = table_of(OutboundMessage)
    db.write_one(
        table.update()
        .where(table.c.id == bindparam("b_id"), table.c.status == OutboxStatus.SENDING)
        .values(
            status=bindparam("b_status"),
            provider_sid=bindparam("b_sid"),
            next_attempt_at=None,
            updated_at=now,
        ),
        [
            {
                "b_id": message_id,
                "b_status": result.status or "queued",
                "b_sid": result.provider_sid,
            }
            for message_id, result in accepted
        ],
    )
    OUTBOUND.labels("accepted").inc(len(accepted))


def record_failure(
    db: Database,
    message_id: int,
    result: SendResult,
    now: datetime,
    on_failure: FailureHook | None,
) -> bool:
    """Write a failed send: a retry after `backoff`, or `failed` when it is
    permanent or the attempts are spent. Returns True when the failure hook
    ran (and may have queued more)."""
    with db.session() as session:
        message = session.get(OutboundMessage, message_id)
        if message is None or message.status != OutboxStatus.SENDING:
            return False
        message.updated_at = now
        message.error_code = result.error_code
        if _gives_up(session, message, result):
            message.status = OutboxStatus.FAILED
            message.next_attempt_at = None
            OUTBOUND.labels("failed").inc()
            log.warning(
                "outbound_failed",
                message_id=message.id,
                purpose=message.purpose,
                error_code=result.error_code,
                attempts=message.attempts,
            )
            if on_failure:
                on_failure(session, message, now)
                return True
            return False
        CarrierWatch.failed(now)
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = now + backoff(message.attempts)
        OUTBOUND.labels("retry").inc()
        log.info(
            "outbound_retry",
            message_id=message.id,
            error_code=result.error_code,
            attempts=message.attempts,
        )
        return False


def release(db: Database, message_id: int, now: datetime) -> None:
    """Give back a claimed message unsent (it waits behind an older one)."""
    with db.session() as session:
        message = session.get(OutboundMessage, message_id)
        if message is not None and message.status == OutboxStatus.SENDING:
            message.status = OutboxStatus.PENDING
            message.attempts -= 1
            message.next_attempt_at = now


def early_callbacks_waiting(db: Database, message_ids: list[int]) -> bool:
    """Whether any of these messages has an early status callback: a look
    that takes no lock and opens no transaction (nearly always no), so a
    round does not open a write transaction for nothing."""
    return db.peek(_EARLY_CALLBACK_FOR.params(ids=message_ids)) is not None


def apply_early_callbacks(
    db: Database,
    message_ids: list[int] | None,
    now: datetime,
    on_failure: FailureHook | None,
) -> bool:
    """Status callbacks that arrived before these messages' SIDs were
    written (None: any message's), applied in the order they came: one
    query for the batch. Returns True when a failure hook ran."""
    failed = False
    with db.session() as session:
        rows = session.execute(
            select(OutboundMessage, EarlyStatusCallback)
            .join(
                EarlyStatusCallback,
                col(EarlyStatusCallback.provider_sid) == col(OutboundMessage.provider_sid),
            )
            .where(col(OutboundMessage.id).in_(message_ids) if message_ids is not None else true())
            .order_by(col(EarlyStatusCallback.id))
        ).all()
        for message, callback in rows:
            if (
                advance_status(message, callback.status, error_code=callback.error_code, at=now)
                and callback.status in FINAL_FAILURES
                and on_failure
            ):
                on_failure(session, message, now)
                failed = True
            session.delete(callback)
    return failed


def forget_unclaimed_callbacks(*, session: Session, now: datetime) -> None:
    """Early status callbacks nobody claimed within a day were for messages
    that are not ours (another app on the number) or never written."""
    session.execute(
        delete(EarlyStatusCallback).where(
            col(EarlyStatusCallback.received_at) < now - timedelta(days=1)
        )
    )
