"""Hands outbox rows to the transport, at once after commit and again on retry.

A row is claimed (status `sending`, a lease in `next_attempt_at`) in a short
transaction, sent outside any transaction, and its result written in another.
A process that dies mid-send leaves a lease that expires, so the row is sent
again: a crisis notification may rarely arrive twice, never zero times.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import structlog
from sqlalchemy import and_, bindparam, exists, func, or_, select, true
from sqlalchemy.orm import aliased

from app.db import Database
from app.messaging.models import FINAL_FAILURES, EarlyStatusCallback, OutboundMessage
from app.messaging.outbox import advance_status
from app.messaging.senders import SendResult, SmsSender
from app.ops.metrics import OUTBOUND

log = structlog.get_logger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
BATCH = 50


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, … seconds, capped at a minute: Twilio outages are usually short."""
    return timedelta(seconds=min(60, 2 ** max(0, attempts - 1)))


# One alias for the whole process: SQLAlchemy memoises its column adaptation
# (a fresh alias per claim cost ~5% of a busy server's CPU).
_OLDER = aliased(OutboundMessage, name="older_message")


def outbox_signal():
    """What changes when a message is queued or handed to Twilio: the newest
    id and how many are not handed over yet. A claim (pending → sending)
    leaves it as it was, so a round's own claims start no other round; its
    record of what Twilio took changes it once, which starts the follow-up
    round for what waited behind those messages in their lanes."""
    return select(
        func.max(OutboundMessage.id),
        select(func.count())
        .where(OutboundMessage.status.in_(("pending", "sending")))
        .scalar_subquery(),
    )


# Is there an early status callback for any of these messages? (`_apply_early_callbacks`)
_EARLY_CALLBACK_FOR = (
    select(EarlyStatusCallback.id)
    .join(OutboundMessage, OutboundMessage.provider_sid == EarlyStatusCallback.provider_sid)
    .where(OutboundMessage.id.in_(bindparam("ids", expanding=True)))
    .limit(1)
)

FailureHook = Callable[[object, OutboundMessage, datetime], None]

# The messages that walk a contact's plan (and its end): they go out in level
# order whoever receives them. Everything else keeps order per recipient only,
# so a client's auto-reply and the staff notification leave side by side
# instead of the notification waiting for Twilio's answer to the auto-reply.
LEVEL_PURPOSES = ("notify", "alert")
# Rounds of claim → send → record in flight at once in a background sender: a
# message queued while one round waits on Twilio goes in the next round at
# once, not after it (the claim never takes a message whose lane is busy).
ROUNDS_IN_FLIGHT = 4


def _claim_statement(*, only_these: bool):
    """UPDATE … WHERE id IN (the due messages whose lanes are free) RETURNING.

    A contact's messages in one lane go out in the order they were written:
    none overtakes an older one still waiting for a retry or being sent, so
    after a Twilio outage level 3 never reaches staff before level 2, and
    nobody gets two texts out of order."""
    table = OutboundMessage.__table__
    older = _OLDER
    due = select(OutboundMessage.id).where(
        OutboundMessage.status.in_(("pending", "sending")),
        or_(
            OutboundMessage.next_attempt_at.is_(None),
            OutboundMessage.next_attempt_at <= bindparam("now"),
        ),
        ~exists().where(
            older.contact_id == OutboundMessage.contact_id,
            older.id < OutboundMessage.id,
            or_(
                older.to_number == OutboundMessage.to_number,
                and_(
                    older.purpose.in_(LEVEL_PURPOSES), OutboundMessage.purpose.in_(LEVEL_PURPOSES)
                ),
            ),
            or_(
                older.status == "sending",
                and_(older.status == "pending", older.next_attempt_at > bindparam("now")),
            ),
        ),
    )
    if only_these:
        due = due.where(OutboundMessage.id.in_(bindparam("ids", expanding=True)))
    due = due.order_by(OutboundMessage.id).limit(BATCH)
    # PostgreSQL: another instance's sender skips what this one is claiming (SQLite has one writer).
    due = due.with_for_update(skip_locked=True)
    return (
        table.update()
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(
            status="sending",
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
        )
    )


_CLAIM_DUE = _claim_statement(only_these=False)
_CLAIM_THESE = _claim_statement(only_these=True)


def lanes(messages: list[OutboundMessage]) -> list[list[OutboundMessage]]:
    """The claimed messages split into lanes, each in id order: one
    contact's messages to the same number, and its level messages (see
    LEVEL_PURPOSES), joined where they meet; a message with no contact is a
    lane of its own. The order `_claim` keeps across rounds, kept within one."""
    found: list[tuple[set, list[OutboundMessage]]] = []
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


class Dispatcher:
    def __init__(
        self,
        *,
        db: Database,
        sender: SmsSender,
        status_callback_url: str,
        clock: Callable[[], datetime],
        on_failure: FailureHook | None = None,
        concurrency: int = 8,
    ):
        self.db = db
        self.sender = sender
        self.status_callback_url = status_callback_url
        self.clock = clock
        self.on_failure = on_failure
        self.concurrency = concurrency  # requests in flight to Twilio at once, per process
        self._executor: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._sender_thread: threading.Thread | None = None
        self._poll_seconds: float | None = None
        self._sent_elsewhere = False
        self._last_signal: tuple = ()
        self._rounds_lock = threading.Lock()
        self._rounds_in_flight = 0
        self._round_executor: ThreadPoolExecutor | None = None
        self._round_wanted = False  # a wake came while every round was busy

    def start_sending_in_background(self, *, poll_seconds: float | None = None) -> None:
        """A thread of its own sends what `kick` says is queued, so routing
        never waits on Twilio's API (100-300 ms a request): the next text is
        routed while the last one's notifications are in flight. Without it
        (tests, the web process) `kick` sends at once.

        `poll_seconds`: the sending process is not the one that queues (the
        sender child of `serve`), so nobody kicks: it looks that often
        whether the outbox changed (`outbox_signal`, a read that takes no
        lock) and sends when it did."""
        self._poll_seconds = poll_seconds
        if self._sender_thread is None:
            self._sender_thread = threading.Thread(
                target=self._send_loop, name="outbox-sender", daemon=True
            )
            self._sender_thread.start()

    def leave_sending_to_another_process(self) -> None:
        """The router child of `serve`: what it queues is sent by the sender
        child, which notices it within a poll. `kick` does nothing here: sending
        threads in this process would take the interpreter lock from routing
        while it holds SQLite's write lock, and every webhook would wait longer."""
        self._sent_elsewhere = True

    @property
    def sends_in_background(self) -> bool:
        return self._sender_thread is not None or self._sent_elsewhere

    def kick(self) -> None:
        """Messages were queued (committed): send them now, or have the
        background sender do it."""
        if self._sent_elsewhere:
            return
        if self._sender_thread is None:
            self.dispatch()
        else:
            self._wake.set()

    def _outbox_changed(self) -> bool:
        """Polling: did a message arrive or leave since the last look? Kept
        cheap (two index lookups, no lock); a change it misses (one leaving
        while another with a lower id commits late, PostgreSQL only) is
        sent by the sweep within a second."""
        signal = self._look()
        changed = signal != self._last_signal
        self._last_signal = signal
        return changed

    def _look(self) -> tuple:
        return tuple(self.db.peek(outbox_signal()) or ())

    def _send_loop(self) -> None:
        while not self._stopping.is_set():
            if self._poll_seconds is None:
                self._wake.wait()
            elif not self._wake.wait(self._poll_seconds):
                try:
                    if not self._outbox_changed():
                        continue
                except Exception as exc:  # the database is away: poll again, quietly
                    log.warning("outbox_poll_failed", error=type(exc).__name__)
                    self._stopping.wait(1.0)
                    continue
            self._wake.clear()
            if self._stopping.is_set():
                return
            self._start_round()

    def _start_round(self) -> None:
        with self._rounds_lock:
            if self._rounds_in_flight >= ROUNDS_IN_FLIGHT:
                self._round_wanted = True  # the first round to finish wakes the loop again
                return
            self._rounds_in_flight += 1
        try:
            self._round_pool().submit(self._round)
        except Exception as exc:
            self._round_done()
            log.warning("outbox_round_not_started", error=type(exc).__name__)
            self._stopping.wait(1.0)

    def _round_done(self) -> bool:
        """Whether a round was wanted while every round was busy."""
        with self._rounds_lock:
            self._rounds_in_flight -= 1
            wanted, self._round_wanted = self._round_wanted, False
            return wanted

    def _round(self) -> None:
        """One claim → send → record round in the background. What waited
        behind its messages in their lanes goes in a follow-up round: when
        polling, the record changed the outbox signal; when kicked, this wakes
        the loop itself."""
        sent = 0
        try:
            sent = self.dispatch()
        except Exception as exc:  # the sweep retries whatever this left; the loop must go on
            log.error("outbox_sender_failed", error=type(exc).__name__, exc_info=exc)
        finally:
            if self._round_done() or (sent and self._poll_seconds is None):
                self._wake.set()

    def _round_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._round_executor is None:
                self._round_executor = ThreadPoolExecutor(
                    max_workers=ROUNDS_IN_FLIGHT, thread_name_prefix="round"
                )
            return self._round_executor

    def _claim(self, ids: Iterable[int] | None, now: datetime) -> list:
        """Due messages, up to BATCH, marked `sending` under a lease: one
        UPDATE … RETURNING that is its own transaction (on PostgreSQL one
        round trip where a session took four; a sender claims every round).
        Rows in id order, with what sending needs."""
        params = {"now": now, "lease_until": now + LEASE}
        if ids is None:
            rows = self.db.write_returning(_CLAIM_DUE, params)
        else:
            rows = self.db.write_returning(_CLAIM_THESE, {**params, "ids": list(ids)})
        return sorted(rows, key=lambda row: row.id)

    def dispatch(self, ids: Iterable[int] | None = None) -> int:
        """Send the given pending messages (or every due one). Returns how many were tried."""
        ids = list(ids) if ids is not None else None
        if ids == []:
            return 0
        claimed = self._claim(ids, self.clock())
        # One lane's messages in the order they were written, one after the
        # other; other lanes and contacts side by side. Twilio's API answers
        # in ~100-300 ms: one at a time, a burst of 50 notifications would
        # take the last one 10 s to leave.
        groups = lanes(claimed)
        accepted: list[
            tuple[int, SendResult]
        ] = []  # list.append is atomic: the send threads share it
        send = lambda group: self._send_in_order(group, accepted)  # noqa: E731
        if len(groups) <= 1 or self.concurrency <= 1:
            escalated = any([send(group) for group in groups])
        else:
            escalated = any(list(self._pool().map(send, groups)))
        self._record_accepted(accepted)
        escalated |= self._apply_early_callbacks([m.id for m in claimed])
        if escalated:
            # A failed notification queued the next level: send it now, not on the next tick.
            return len(claimed) + self.dispatch()
        return len(claimed)

    def _send_in_order(
        self, messages: list[OutboundMessage], accepted: list[tuple[int, SendResult]]
    ) -> bool:
        """Send one lane's claimed messages in order; after one that failed
        for now, give the rest back so none overtakes it on the retry.
        Messages Twilio took go to `accepted`, written for the whole batch at
        once; a failure is written at once (it may escalate)."""
        escalated = False
        for position, message in enumerate(messages):
            result = self.sender.send(
                to=message.to_number,
                from_=message.from_number,
                body=message.body,
                status_callback=self.status_callback_url,
            )
            if result.ok:
                accepted.append((message.id, result))
                continue
            escalated |= self._record(message.id, result)
            if not result.ok and not result.permanent and message.contact_id is not None:
                for later in messages[position + 1 :]:
                    self._release(later.id)
                break
        return escalated

    def _pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.concurrency, thread_name_prefix="send"
                )
            return self._executor

    def close(self) -> None:
        if self._sender_thread is not None:
            self._stopping.set()
            self._wake.set()
            self._sender_thread.join(timeout=30)
        if self._round_executor is not None:
            self._round_executor.shutdown(wait=True)  # rounds in flight record what Twilio took
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def apply_early_callbacks(self) -> None:
        if self._apply_early_callbacks(None):
            self.dispatch()

    def drain(self, max_rounds: int = 100) -> int:
        """Dispatch until nothing is due (tests, `simulate`, shutdown)."""
        total = 0
        for _ in range(max_rounds):
            sent = self.dispatch()
            total += sent
            if sent == 0:
                break
        return total

    def _release(self, message_id: int) -> None:
        """Give back a claimed message unsent (it waits behind an older one)."""
        with self.db.session() as session:
            message = session.get(OutboundMessage, message_id)
            if message is not None and message.status == "sending":
                message.status = "pending"
                message.attempts -= 1
                message.next_attempt_at = self.clock()

    def _apply_early_callbacks(self, message_ids: list[int] | None) -> bool:
        """Status callbacks that arrived before these messages' SIDs were
        written (None: any message's), applied in the order they came: one
        query for the batch. The sweep calls it with None too, for a callback
        whose early row committed just after a batch looked."""
        if message_ids == []:
            return False
        if (
            message_ids is not None
            and self.db.peek(_EARLY_CALLBACK_FOR.params(ids=message_ids)) is None
        ):
            # Nearly always: a look that takes no lock and opens no transaction,
            # instead of a write transaction every round for nothing.
            return False
        now = self.clock()
        failed = False
        with self.db.session() as session:
            rows = session.execute(
                select(OutboundMessage, EarlyStatusCallback)
                .join(
                    EarlyStatusCallback,
                    EarlyStatusCallback.provider_sid == OutboundMessage.provider_sid,
                )
                .where(OutboundMessage.id.in_(message_ids) if message_ids is not None else true())
                .order_by(EarlyStatusCallback.id)
            ).all()
            for message, callback in rows:
                if (
                    advance_status(message, callback.status, error_code=callback.error_code, at=now)
                    and callback.status in FINAL_FAILURES
                    and self.on_failure
                ):
                    self.on_failure(session, message, now)
                    failed = True
                session.delete(callback)
        return failed

    def _record_accepted(self, accepted: list[tuple[int, SendResult]]) -> None:
        """The batch's successes in one statement that is its own transaction
        (on SQLite one turn at the write lock for the batch, not one a
        message; on PostgreSQL one round trip), idempotent as write_one needs:
        only a row still `sending` moves. Should the process die before this,
        the rows' leases expire and they are sent again: twice, never zero times."""
        if not accepted:
            return
        now = self.clock()
        table = OutboundMessage.__table__
        self.db.write_one(
            table.update()
            .where(table.c.id == bindparam("b_id"), table.c.status == "sending")
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

    def _record(self, message_id: int, result: SendResult) -> bool:
        """Write a failed send. Returns True when a failure hook ran (and may have queued more)."""
        now = self.clock()
        with self.db.session() as session:
            message = session.get(OutboundMessage, message_id)
            if message is None or message.status != "sending":
                return False
            message.updated_at = now
            message.error_code = result.error_code
            if result.permanent or message.attempts >= MAX_ATTEMPTS:
                message.status = "failed"
                message.next_attempt_at = None
                OUTBOUND.labels("failed").inc()
                log.warning(
                    "outbound_failed",
                    message_id=message.id,
                    purpose=message.purpose,
                    error_code=result.error_code,
                    attempts=message.attempts,
                )
                if self.on_failure:
                    self.on_failure(session, message, now)
                    return True
                return False
            message.status = "pending"
            message.next_attempt_at = now + backoff(message.attempts)
            OUTBOUND.labels("retry").inc()
            log.info(
                "outbound_retry",
                message_id=message.id,
                error_code=result.error_code,
                attempts=message.attempts,
            )
            return False
