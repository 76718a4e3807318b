"""Which outbox rows a sender round takes: the claim statement and the lanes.

A row is claimed (status `sending`, a lease in `next_attempt_at`) by one
UPDATE … RETURNING that is its own transaction. A process that dies
mid-send leaves a lease that expires, so the row is sent again: a crisis
notification may rarely arrive twice, never zero times.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.db import Database, table_of
from app.messaging.models import MessagePurpose, OutboundMessage, OutboxStatus

LEASE = timedelta(seconds=60)
BATCH = 50

# The messages that walk a contact's plan (and its end): they go out in level
# order whoever receives them. Everything else keeps order per recipient only,
# so a client's auto-reply and the staff notification leave side by side
# instead of the notification waiting for Twilio's answer to the auto-reply.
LEVEL_PURPOSES = (MessagePurpose.NOTIFY, MessagePurpose.ALERT)

# One alias for the whole process: SQLAlchemy memoises its column adaptation,
# and a fresh alias per claim costs a busy server measurable CPU.
_OLDER = aliased(OutboundMessage, name="older_message")


class Claimed(Protocol):
    """What a round needs of a claimed message (a RETURNING row or the model)."""

    @property
    def id(self) -> int: ...
    @property
    def contact_id(self) -> int | None: ...
    @property
    def to_number(self) -> str: ...
    @property
    def from_number(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def purpose(self) -> str: ...
    @property
    def team_id(self) -> int: ...
    @property
    def attempts(self) -> int: ...


def outbox_signal() -> Select[Any]:
    """What changes when a message is queued or handed to Twilio: the newest
    id and how many are not handed over yet. A claim (pending → sending)
    leaves it as it was, so a round's own claims start no other round; its
    record of what Twilio took changes it once, which starts the follow-up
    round for what waited behind those messages in their lanes."""
    return select(
        func.max(OutboundMessage.id),
        select(func.count())
        .where(col(OutboundMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
        .scalar_subquery(),
    )


def _claim_statement(*, only_these: bool):
    """UPDATE … WHERE id IN (the due messages whose lanes are free) RETURNING.

    A contact's messages in one lane go out in the order they were written:
    none overtakes an older one still waiting for a retry or being sent, so
    after a Twilio outage level 3 never reaches staff before level 2, and
    nobody gets two texts out of order."""
    table = table_of(OutboundMessage)
    older = _OLDER
    due = select(col(OutboundMessage.id)).where(
        col(OutboundMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
        or_(
            col(OutboundMessage.next_attempt_at).is_(None),
            col(OutboundMessage.next_attempt_at) <= bindparam("now"),
        ),
        ~exists().where(
            col(older.contact_id) == col(OutboundMessage.contact_id),
            col(older.id) < col(OutboundMessage.id),
            or_(
                col(older.to_number) == col(OutboundMessage.to_number),
                and_(
                    col(older.purpose).in_(LEVEL_PURPOSES),
                    col(OutboundMessage.purpose).in_(LEVEL_PURPOSES),
                ),
            ),
            or_(
                col(older.status) == OutboxStatus.SENDING,
                and_(
                    col(older.status) == OutboxStatus.PENDING,
                    col(older.next_attempt_at) > bindparam("now"),
                ),
            ),
        ),
    )
    if only_these:
        due = due.where(col(OutboundMessage.id).in_(bindparam("ids", expanding=True)))
    due = due.order_by(col(OutboundMessage.id)).limit(BATCH)
    # PostgreSQL: another instance's sender skips what this one is claiming (SQLite has one writer).
    due = due.with_for_update(skip_locked=True)
    return (
        table.update()
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(
            status=OutboxStatus.SENDING,
            attempts=table.c.attempts + 1,
            next_attempt_at=bindparam("lease_until"),
            updated_at=bindparam("now"),
        )
        .returning(
            table.c.id,
            table.c.contact_id,
            table.c.to_number,
            table.c.from_number,
            table.c.body,
            table.c.purpose,
            table.c.team_id,
            table.c.attempts,
        )
    )


M = TypeVar("M", bound=Claimed)

_CLAIM_DUE = _claim_statement(only_these=False)
_CLAIM_THESE = _claim_statement(only_these=True)


def claim(db: Database, ids: Iterable[int] | None, now: datetime) -> list[Any]:
    """Due messages (of `ids`, or any), up to BATCH, marked `sending` under a
    lease: one UPDATE … RETURNING that is its own transaction (on PostgreSQL
    one round trip where a session takes four; a sender claims every round).
    Rows in id order, with what sending needs."""
    params: dict[str, Any] = {"now": now, "lease_until": now + LEASE}
    if ids is None:
        rows = db.write_returning(_CLAIM_DUE, params)
    else:
        rows = db.write_returning(_CLAIM_THESE, {**params, "ids": list(ids)})
    return sorted(rows, key=lambda row: row.id)


def lanes(messages: Sequence[M]) -> list[list[M]]:
    """The claimed messages split into lanes, each in id order: one
    contact's messages to the same number, and its level messages (see
    LEVEL_PURPOSES), joined where they meet; a message with no contact is a
    lane of its own. The order `claim` keeps across rounds, kept within one."""
    found: list[tuple[set[tuple[int, str]], list[M]]] = []
    for message in sorted(messages, key=lambda m: m.id):
        if message.contact_id is None:
            found.append((set(), [message]))
            continue
        keys = {(message.contact_id, message.to_number)}
        if message.purpose in LEVEL_PURPOSES:
            keys.add((message.contact_id, "levels"))
        meeting = [lane for lane in found if lane[0] & keys]
        merged_keys, merged = set(keys), []
        for lane in meeting:
            found.remove(lane)
            merged_keys |= lane[0]
            merged.extend(lane[1])
        merged.append(message)
        merged.sort(key=lambda m: m.id)
        found.append((merged_keys, merged))
    return [lane for _, lane in found]
