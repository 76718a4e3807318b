"""Which inbox texts are due, and taking them: the statements the router's
claim runs (app.inbound.inbox). Never a sender's second text before their
first; on PostgreSQL a row another instance holds is skipped, not waited for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, bindparam, func, or_, select, tuple_
from sqlmodel import Session, col

from app.db import table_of
from app.messaging.models import InboxMessage

# What routing reads of a text claimed with others: plain columns, no ORM object.
InboxRow = Row[int, str, str, str, str, list[dict[str, str]] | None]


def claimable_ids(session: Session, *, now: datetime, limit: int) -> tuple[list[int], int]:
    """Up to `limit` pending texts that are due, oldest first, each the oldest
    pending text of its sender (never overtake an earlier text from the same
    sender to the same line: the first opens the contact, the second continues
    it), even one another instance is routing right now or one waiting for a
    retry. Two small queries a batch instead of one anti-join a text: a queue
    table's index is full of rows routed a moment ago, and walking them for
    every text made routing slower the longer the backlog. Also returns how
    many due texts the look saw (claimable or waiting behind their sender's)."""
    after_id = 0
    while True:
        due = session.execute(
            select(col(InboxMessage.id), col(InboxMessage.to_number), col(InboxMessage.from_number))
            .where(
                col(InboxMessage.processed_at).is_(None),
                col(InboxMessage.id) > after_id,
                or_(
                    col(InboxMessage.next_attempt_at).is_(None),
                    col(InboxMessage.next_attempt_at) <= now,
                ),
            )
            .order_by(col(InboxMessage.id))
            .limit(limit)
        ).all()
        if not due:
            return [], 0
        senders = {(row.to_number, row.from_number) for row in due}
        oldest = dict(
            ((to, sender), first)
            for to, sender, first in session.execute(
                select(
                    col(InboxMessage.to_number),
                    col(InboxMessage.from_number),
                    func.min(col(InboxMessage.id)),
                )
                .where(
                    col(InboxMessage.processed_at).is_(None),
                    tuple_(InboxMessage.to_number, InboxMessage.from_number).in_(senders),
                )
                .group_by(InboxMessage.to_number, InboxMessage.from_number)
            ).all()
        )
        claimable = [
            row.id for row in due if oldest.get((row.to_number, row.from_number)) == row.id
        ]
        if claimable or len(due) < limit:
            return claimable, len(due)
        # A whole window of texts waiting behind their senders' earlier ones: look further.
        after_id = due[-1].id


def claim_one(session: Session, message_id: int, *, is_postgres: bool) -> InboxMessage | None:
    """The row, locked for this transaction; None when another instance holds
    it or has routed it since the batch was read."""
    query = select(InboxMessage).where(
        col(InboxMessage.id) == message_id, col(InboxMessage.processed_at).is_(None)
    )
    if is_postgres:
        query = query.with_for_update(skip_locked=True)
    return session.execute(query).scalars().first()


_ROUTED_COLUMNS = (
    col(InboxMessage.id),
    col(InboxMessage.message_sid),
    col(InboxMessage.to_number),
    col(InboxMessage.from_number),
    col(InboxMessage.body),
    col(InboxMessage.media),
)
MARK_ROUTED = (
    table_of(InboxMessage)
    .update()
    .where(table_of(InboxMessage).c.id == bindparam("b_id"))
    .values(processed_at=bindparam("b_at"), outcome=bindparam("b_outcome"))
)


def claim_all(session: Session, message_ids: list[int], *, is_postgres: bool) -> list[InboxRow]:
    """`claim_one` for several rows at once, oldest first: what routing reads of
    them, as plain rows (their marks are written together, `MARK_ROUTED`)."""
    query = (
        select(*_ROUTED_COLUMNS)
        .where(col(InboxMessage.id).in_(message_ids), col(InboxMessage.processed_at).is_(None))
        .order_by(col(InboxMessage.id))
    )
    if is_postgres:
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query))
