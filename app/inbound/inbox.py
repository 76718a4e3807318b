"""The inbox: inbound SMS recorded first, routed next.

`Inbox.record` is all the webhook does: one idempotent INSERT keyed by
MessageSid, so Twilio is answered in about a millisecond of work whatever the
routing costs, and a retry of the same MessageSid is the same row.

`route_pending` is the worker's half: it takes pending rows oldest first (the
statements are app.inbound.inbox_claim) and routes them in transactions of
up to ROUTED_TOGETHER texts (routing a text and marking its row processed
commit together, so a crash re-routes at most the texts it was holding, and
routing is idempotent on MessageSid anyway).
Several texts a transaction because a backlog is when routing speed matters:
the team, its staff, leave and who is on call are read once for all of them,
and one commit stands for several. A sender's texts are routed in the order
they arrived, also across instances (a transaction holds at most one text of
a sender). When any text of a transaction raises, it is rolled back and its
texts are routed one a transaction, so one bad text costs the others a
retry, never their routing. A row whose routing raises on its own is retried
with backoff; after MAX_ATTEMPTS it opens a contact with the minimal plan, or
is left `stuck` (`dead_letter`), so it can neither block its sender's later
texts nor vanish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, col

from app.settings import Settings

if TYPE_CHECKING:
    from app.runtime import Runtime
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select

from app.db import Database, per_transaction
from app.inbound import dead_letter
from app.inbound.inbox_claim import MARK_ROUTED, InboxRow, claim_all, claim_one, claimable_ids
from app.inbound.landing import RECORD_SMS, InboxLanding
from app.inbound.message import InboundSms
from app.inbound.sms import handle_inbound_sms
from app.messaging.models import InboxMessage
from app.ops.metrics import CONTACTS_OPENED, INBOX_ROUTED
from app.teams.models import Team
from app.teams.phones import e164_or_raw

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 5
BATCH = 100
# Texts routed in one transaction when that many are waiting. A text waits for
# the others of its transaction before its notification can leave (~15 ms a
# text), so this stays small; 1 text waiting is routed alone at once.
ROUTED_TOGETHER = 8


def retry_delay(attempts: int) -> timedelta:
    """2, 4, 8, 16 s: a transient fault (a deadlock, a restart) clears fast."""
    return timedelta(seconds=2**attempts)


class Inbox:
    """Where the webhook records a text and where the router claims it. On
    SQLite the webhook writes the landing file (app.inbound.landing) and the
    router hands it over before it claims; on PostgreSQL both use the inbox
    table. From the event loop itself when that cannot wait (`record_at_once`),
    else from a thread (`record`). Nothing outside this class knows which."""

    def __init__(self, db: Database, landing: InboxLanding | None = None):
        self.db = db
        self.landing = landing

    @classmethod
    def beside(cls, db: Database) -> Inbox:
        return cls(db, InboxLanding.beside(db))

    def record(self, sms: InboundSms, *, now: datetime) -> bool:
        """Write the text as received. False when this MessageSid is already
        here (Twilio retried): nothing is written twice."""
        if self.landing is not None:
            return self.landing.record(sms, now=now)
        return self.db.write_one(RECORD_SMS, {**sms.row(now), "attempts": 0}) == 1

    async def record_at_once(self, sms: InboundSms, *, now: datetime) -> bool | None:
        """`record` from the event loop, cheaper than a trip through the
        thread pool: on SQLite the landing file's write when its lock is free
        (a fraction of a millisecond), on PostgreSQL the insert on a
        connection of the loop's own pool. None: not done, call `record`
        from a thread. An MMS on PostgreSQL goes through `record`: its
        attachments need SQLAlchemy's JSON type, which the loop's raw
        parameters skip (and MMS are few)."""
        if self.landing is not None:
            return self.landing.record_without_waiting(sms, now=now)
        if sms.media:
            return None
        inserted = await self.db.write_one_on_loop(RECORD_SMS, {**sms.row(now), "attempts": 0})
        return None if inserted is None else inserted == 1

    def claim(self, *, now: datetime, limit: int) -> tuple[list[int], int]:
        """The ids of up to `limit` texts due for routing (`inbox_claim.claimable_ids`),
        after the landing file's texts are handed over; and how many due
        texts the look saw."""
        if self.landing is not None:
            self.landing.move_into(self.db, now=now)
        with self.db.session() as session:
            return claimable_ids(session, now=now, limit=limit)

    def forget_moved(self, *, now: datetime) -> None:
        """Landing rows handed over a day ago go (a retry of theirs is then no
        longer known as a duplicate here, only by the inbox table)."""
        if self.landing is not None:
            self.landing.forget_moved(now=now)

    def close(self) -> None:
        if self.landing is not None:
            self.landing.close()


def _team_for_line(session: Session, line: str) -> Team | None:
    """Read once per transaction: the texts routed together are mostly on one line."""
    return per_transaction(
        session,
        "team_by_line",
        line,
        lambda: (
            session.execute(select(Team).where(col(Team.crisis_line_number) == line))
            .scalars()
            .first()
        ),
    )


def route_message(
    *,
    session: Session,
    message: InboxMessage | InboxRow,
    now: datetime,
    settings: Settings,
) -> str:
    """Route one recorded text (an `InboxMessage` or a row of its columns; decisions in `inbound.sms`)."""
    team = _team_for_line(session, message.to_number)
    if team is None:  # the line was released after the text was accepted
        log.error("inbox_line_without_team", inbox_id=message.id, to=message.to_number)
        return "unknown_line"
    sms = InboundSms(
        message_sid=message.message_sid,
        from_number=e164_or_raw(message.from_number, team.region),
        body=message.body,
        media=list(message.media or []),
        to_number=message.to_number,
    )
    return handle_inbound_sms(session=session, team=team, sms=sms, now=now, settings=settings)


def route_pending(
    runtime: Runtime,
    *,
    limit: int = BATCH,
    together: int = ROUTED_TOGETHER,
    between: Callable[[], object] | None = None,
    unless_fewer_than: int = 0,
) -> int:
    """Route up to `limit` pending texts, up to `together` a transaction.
    Returns how many rows were handled. `between` runs after every group of
    texts routed (the worker sends what routing queued, so a burst's first
    notifications leave while later texts wait). `unless_fewer_than`: once a
    look finds fewer texts than that, route them and stop, instead of looking
    again at once for the one or two that arrived meanwhile (the worker's
    next look, moments later, routes those with the texts beside them)."""
    handled = 0
    while handled < limit:
        ids, due = runtime.inbox.claim(now=runtime.now(), limit=limit - handled)
        round_handled = 0
        for start in range(0, len(ids), max(1, together)):
            chunk = ids[start : start + max(1, together)]
            routed = _route_together(runtime, chunk) if len(chunk) > 1 else None
            if routed is None:
                routed = sum(_route_one(runtime, message_id) for message_id in chunk)
            round_handled += routed
            if routed and between is not None:
                between()
        handled += round_handled
        if not round_handled:  # nothing due, or everything due is another instance's
            break
        # No backlog, and no text held behind its sender's earlier one just
        # routed: what arrives meanwhile waits for the next look, and company.
        if due < unless_fewer_than and len(ids) == due:
            break
    return handled


def _route_together(runtime: Runtime, message_ids: list[int]) -> int | None:
    """Several texts in one transaction, each routed and marked processed.
    None when any of them raised: all rolled back, for the caller to route
    them one a transaction (where a failure is the failing text's alone)."""
    now = runtime.now()
    outcomes: list[str] = []
    try:
        with runtime.db.session() as session:
            messages = claim_all(session, message_ids, is_postgres=runtime.db.is_postgres)
            for message in messages:
                outcomes.append(
                    route_message(
                        session=session, message=message, now=now, settings=runtime.settings
                    )
                )
            if messages:  # one statement marks them all (executemany)
                session.execute(
                    MARK_ROUTED,
                    [
                        {"b_id": message.id, "b_at": now, "b_outcome": outcome}
                        for message, outcome in zip(messages, outcomes)
                    ],
                )
    except Exception as exc:
        log.warning("inbox_routed_one_by_one", texts=len(message_ids), error=type(exc).__name__)
        return None
    for outcome in outcomes:
        _count_routed(outcome)
    return len(outcomes)


def _route_one(runtime: Runtime, message_id: int) -> bool:
    """One text in its own transaction: routed and marked processed together."""
    now = runtime.now()
    try:
        with runtime.db.session() as session:
            message = claim_one(session, message_id, is_postgres=runtime.db.is_postgres)
            if message is None:
                return False
            outcome = route_message(
                session=session, message=message, now=now, settings=runtime.settings
            )
            message.processed_at = now
            message.outcome = outcome
            session.add(message)
    except (
        Exception
    ) as exc:  # routing failed and was rolled back: the text stays pending, retried later
        failure = exc
    else:
        _count_routed(outcome)
        return True
    # Counted in a transaction of its own (no savepoint around every routing
    # for the rare failure). Another instance may route the row meanwhile:
    # then it is no longer pending and this changes nothing.
    stuck = False
    with runtime.db.session() as session:
        message = claim_one(session, message_id, is_postgres=runtime.db.is_postgres)
        if message is not None:
            _routing_failed(message, failure, now)
            if message.attempts >= MAX_ATTEMPTS:
                stuck = not _open_minimal(session, message, now, runtime.settings)
            session.add(message)
    if stuck:
        dead_letter.refresh_gauge(runtime.db)
    return True


def _open_minimal(
    session: Session, message: InboxMessage, now: datetime, settings: Settings
) -> bool:
    """Routing gave up: the text opens a contact with the minimal plan, or is
    stuck (dead letter) when even that raises. False when stuck."""
    try:
        with session.begin_nested():
            outcome = dead_letter.open_minimal(
                session=session,
                message=message,
                now=now,
                settings=settings,
                why=message.last_error or "",
            )
    except Exception as exc:
        message.last_error = describe_error(exc)
        dead_letter.mark_stuck(message, now)
        INBOX_ROUTED.labels(dead_letter.STUCK).inc()
        return False
    message.processed_at = now
    message.outcome = outcome
    message.next_attempt_at = None
    _count_routed(outcome)
    return True


def _count_routed(outcome: str) -> None:
    """After the commit: a group rolled back and routed again is counted once."""
    INBOX_ROUTED.labels(outcome).inc()
    if outcome == "opened":
        CONTACTS_OPENED.labels("sms").inc()


def _where(exc: Exception) -> str:
    """file:line of the innermost frame: enough to find the bug, and unlike
    the exception's text it cannot carry a phone number or a message body."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"


def describe_error(exc: Exception) -> str:
    """What went wrong, for the row and /stuck: the exception's type and where."""
    return f"{type(exc).__name__} at {_where(exc)}"[:200]


def _routing_failed(message: InboxMessage, exc: Exception, now: datetime) -> None:
    """Another attempt failed: retried with backoff, or, after MAX_ATTEMPTS,
    left for the minimal plan (`_open_minimal`)."""
    message.attempts += 1
    message.last_error = describe_error(exc)
    log.error(
        "inbox_routing_failed",
        inbox_id=message.id,
        attempts=message.attempts,
        error=message.last_error,
    )
    if message.attempts < MAX_ATTEMPTS:
        message.next_attempt_at = now + retry_delay(message.attempts)


def pending_count(session: Session) -> int:
    count: int = session.execute(
        select(func.count())
        .select_from(InboxMessage)
        .where(col(InboxMessage.processed_at).is_(None))
    ).scalar_one()
    return count
