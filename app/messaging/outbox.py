"""The transactional outbox: a message is a row written with the decision
that caused it. Nothing is sent inside a request or a decision; the
dispatcher hands rows to the transport after commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from app.db import table_of, utcnow
from app.messaging.models import STATUS_ORDER, OutboundMessage, OutboxStatus, SmsOptOut

_OPTED_OUT = select(table_of(SmsOptOut).c.opted_out).where(
    table_of(SmsOptOut).c.team_id == bindparam("team_id"),
    table_of(SmsOptOut).c.number == bindparam("number"),
)


def is_opted_out(*, session: Session, team_id: int, number: str) -> bool:
    # Asked before every message queued: without no_autoflush each asking
    # flushed whatever the routing had added so far (a flush is ~1 ms of
    # Python; routing a text asks twice). Opt-outs are flushed when written
    # (set_opt_out), so the answer is the same. A statement built once.
    with session.no_autoflush:
        row = session.execute(_OPTED_OUT, {"team_id": team_id, "number": number}).first()
    return bool(row and row[0])


def set_opt_out(
    *, session: Session, team_id: int, number: str, opted_out: bool, at: datetime
) -> None:
    row = (
        session.execute(
            select(SmsOptOut).where(
                col(SmsOptOut.team_id) == team_id, col(SmsOptOut.number) == number
            )
        )
        .scalars()
        .first()
    )
    if row is None:
        row = SmsOptOut(team_id=team_id, number=number, opted_out=opted_out, updated_at=at)
    else:
        row.opted_out, row.updated_at = opted_out, at
    session.add(row)
    session.flush()  # is_opted_out reads without flushing


@dataclass(frozen=True)
class QueuedMessage:
    """What queueing returns: the outbox row's id (for the timeline)."""

    id: int


_OUTBOX = table_of(OutboundMessage)
# One Core INSERT … RETURNING id, compiled once: the ORM would flush
# everything the routing added so far to learn the new row's id (two flushes
# a text, ~30 % of routing's Python).
_QUEUE = _OUTBOX.insert().returning(_OUTBOX.c.id)


def enqueue(
    *,
    session: Session,
    team,
    to_number: str,
    body: str,
    purpose: str,
    contact_id: int | None = None,
    staff_id: int | None = None,
    level: int | None = None,
    now: datetime | None = None,
    sms: bool = True,
) -> QueuedMessage | None:
    """Queue an SMS from the team's crisis line. Returns None, queueing nothing,
    when the recipient has opted out (a number that texted STOP is never messaged).
    The row is written at once, in the session's transaction; rows it refers
    to (the contact) must be flushed already. `sms=False`: a page call
    (purpose `page_call`, `body` the call's TwiML URL), which SMS consent
    does not govern."""
    if sms and is_opted_out(session=session, team_id=team.id, number=to_number):
        return None
    row = outbox_row(
        team_id=team.id,
        from_number=team.crisis_line_number,
        to_number=to_number,
        body=body,
        purpose=purpose,
        contact_id=contact_id,
        staff_id=staff_id,
        level=level,
        now=now or utcnow(),
    )
    with session.no_autoflush:
        return QueuedMessage(id=session.execute(_QUEUE, row).scalar_one())


def outbox_row(
    *,
    team_id: int,
    from_number: str,
    to_number: str,
    body: str,
    purpose: str,
    contact_id: int | None,
    staff_id: int | None,
    level: int | None,
    now: datetime,
) -> dict[str, object]:
    """A pending outbox row's columns, for a Core INSERT (one here, many at
    once where calls are queued together): due now, never tried."""
    return dict(
        team_id=team_id,
        contact_id=contact_id,
        staff_id=staff_id,
        level=level,
        purpose=purpose,
        to_number=to_number,
        from_number=from_number,
        body=body,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        provider_sid=None,
        error_code=None,
        created_at=now,
        updated_at=now,
    )


def advance_status(
    message: OutboundMessage, status: str, *, error_code: str | None, at: datetime
) -> bool:
    """Move a message's status forward only (callbacks arrive out of order).
    Returns whether it changed."""
    if STATUS_ORDER.get(status, -1) <= STATUS_ORDER.get(message.status, -1):
        return False
    message.status = status
    if error_code:
        message.error_code = error_code
    message.updated_at = at
    return True
