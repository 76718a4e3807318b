"""Hands outbox rows to the transport, at once after commit and again on retry.

One round: claim the due rows (`claim`), send each lane's messages in order
and the lanes side by side, outside any transaction, then write what Twilio
said (`results`). In a sender process the rounds run in the background
(`loop.SendLoop`); elsewhere `kick` runs one at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlmodel import col

from app.contacts.models import Contact, ContactStatus
from app.db import Database, table_of
from app.escalation.models import PageStep
from app.escalation.paging import TO_HOLDER
from app.messaging import results
from app.messaging.claim import Claimed, claim, lanes, outbox_signal
from app.messaging.loop import SendLoop
from app.messaging.models import MessagePurpose, OutboundMessage, OutboxStatus, SmsOptOut
from app.messaging.results import FailureHook
from app.messaging.senders import PAGE_RING_SECONDS, SendResult, SmsSender

# An outbox row that is a page call (app.escalation.paging): its `body` is
# the URL Twilio fetches the call's TwiML from.
PAGE_CALL = MessagePurpose.PAGE_CALL
# A retried text whose recipient texted STOP since it was queued is not sent
# (the carrier would refuse it with 21610): it fails as if refused.
OPTED_OUT_SINCE = SendResult(ok=False, error_code="opted_out", permanent=True)
# A page call whose contact nobody needs to be woken for any more (someone
# acknowledged, it was resolved) is not placed: it ends as `canceled`.
CALL_NOT_NEEDED = "canceled"


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
        call_status_callback_url: str | None = None,
    ) -> None:
        self.db = db
        self.sender = sender
        self.status_callback_url = status_callback_url
        self.call_status_callback_url = call_status_callback_url or status_callback_url
        self.clock = clock
        self.on_failure = on_failure
        self.concurrency = concurrency  # requests in flight to Twilio at once, per process
        self._executor: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._sent_elsewhere = False
        self._loop = SendLoop(send_round=lambda: self.dispatch(), look=lambda: self._look())

    def start_sending_in_background(self, *, poll_seconds: float | None = None) -> None:
        """A thread of its own sends what `kick` says is queued, so routing
        never waits on Twilio's API (100-300 ms a request): the next text is
        routed while the last one's notifications are in flight. Without it
        (tests, the web process) `kick` sends at once.

        `poll_seconds`: the sending process is not the one that queues (the
        sender child of `serve`), so nobody kicks: it looks that often
        whether the outbox changed (`outbox_signal`, a read that takes no
        lock) and sends when it did."""
        self._loop.start(poll_seconds=poll_seconds)

    def leave_sending_to_another_process(self) -> None:
        """The router child of `serve`: what it queues is sent by the sender
        child, which notices it within a poll. `kick` does nothing here: sending
        threads in this process would take the interpreter lock from routing
        while it holds SQLite's write lock, and every webhook would wait longer."""
        self._sent_elsewhere = True

    @property
    def sends_in_background(self) -> bool:
        return self._loop.running or self._sent_elsewhere

    def kick(self) -> None:
        """Messages were queued (committed): send them now, or have the
        background sender do it."""
        if self._sent_elsewhere:
            return
        if not self._loop.running:
            self.dispatch()
        else:
            self._loop.wake()

    def _look(self) -> tuple[Any, ...]:
        return tuple(self.db.peek(outbox_signal()) or ())

    def _claim(self, ids: Iterable[int] | None, now: datetime) -> list[Any]:
        return claim(self.db, ids, now)

    def dispatch(self, ids: Iterable[int] | None = None) -> int:
        """Send the given pending messages (or every due one). Returns how many were tried."""
        wanted = list(ids) if ids is not None else None
        if wanted == []:
            return 0
        claimed = self._drop_calls_not_needed(self._claim(wanted, self.clock()))
        blocked = self._opted_out_since_queued(claimed)
        # One lane's messages in the order they were written, one after the
        # other; other lanes and contacts side by side. Twilio's API answers
        # in ~100-300 ms: one at a time, a burst of 50 notifications would
        # take the last one 10 s to leave.
        groups = lanes(claimed)
        # list.append is atomic: the send threads share it.
        accepted: list[tuple[int, SendResult]] = []

        def send(group: list[Any]) -> bool:
            return self._send_in_order(group, accepted, blocked)

        if len(groups) <= 1 or self.concurrency <= 1:
            escalated = any([send(group) for group in groups])
        else:
            escalated = any(list(self._pool().map(send, groups)))
        results.record_accepted(self.db, accepted, self.clock())
        escalated |= self._apply_early_callbacks([m.id for m in claimed])
        if escalated:
            # A failed notification queued the next level: send it now, not on the next tick.
            return len(claimed) + self.dispatch()
        return len(claimed)

    def _send_in_order(
        self,
        messages: list[Claimed],
        accepted: list[tuple[int, SendResult]],
        blocked: frozenset[int] = frozenset(),
    ) -> bool:
        """Send one lane's claimed messages in order; after one that failed
        for now, give the rest back so none overtakes it on the retry.
        Messages Twilio took go to `accepted`, written for the whole batch at
        once; a failure is written at once (it may escalate)."""
        escalated = False
        for position, message in enumerate(messages):
            if message.id in blocked:
                result = OPTED_OUT_SINCE
            elif message.purpose == PAGE_CALL:
                result = self.sender.call(  # type: ignore[attr-defined]
                    to=message.to_number,
                    from_=message.from_number,
                    url=message.body,
                    # The page's own query (contact, level, person) comes back with its status.
                    status_callback=self.call_status_callback_url
                    + message.body[message.body.find("?") :]
                    if "?" in message.body
                    else self.call_status_callback_url,
                    timeout=PAGE_RING_SECONDS,
                )
            else:
                result = self.sender.send(
                    to=message.to_number,
                    from_=message.from_number,
                    body=message.body,
                    status_callback=self.status_callback_url,
                )
            if result.ok:
                accepted.append((message.id, result))
                continue
            escalated |= results.record_failure(
                self.db, message.id, result, self.clock(), self.on_failure
            )
            if not result.permanent and message.contact_id is not None:
                for later in messages[position + 1 :]:
                    results.release(self.db, later.id, self.clock())
                break
        return escalated

    def _opted_out_since_queued(self, claimed: list[Any]) -> frozenset[int]:
        """Texts whose recipient has opted out since they were queued:
        `enqueue` checked then, but the send may come later (a retry after a
        Twilio outage, or a relay queued a moment before the STOP that
        arrived beside it). One query for a round that holds texts."""
        texts = [m for m in claimed if m.purpose != PAGE_CALL]
        if not texts:
            return frozenset()
        # Read beside the writer: a session would queue behind the write lock.
        out = {
            (team_id, number)
            for team_id, number in self.db.peek_all(
                select(col(SmsOptOut.team_id), col(SmsOptOut.number)).where(
                    col(SmsOptOut.opted_out).is_(True),
                    col(SmsOptOut.number).in_({m.to_number for m in texts}),
                )
            )
        }
        return frozenset(m.id for m in texts if (m.team_id, m.to_number) in out)

    def _drop_calls_not_needed(self, claimed: list[Any]) -> list[Any]:
        """Page calls whose contact is no longer open (someone acknowledged
        while the call waited in the outbox) end unplaced: waking a person for
        a contact a colleague holds helps nobody. A call to the person who
        holds the contact (the client waits on them, their shift ended) is
        placed. One query, only for a round that holds calls."""
        calls = {m.id for m in claimed if m.purpose == PAGE_CALL and m.contact_id}
        if not calls:
            return claimed

        with self.db.session() as session:
            needed = set(
                session.execute(
                    select(col(OutboundMessage.id))
                    .join(Contact, col(Contact.id) == col(OutboundMessage.contact_id))
                    .where(
                        col(OutboundMessage.id).in_(calls),
                        or_(
                            col(Contact.status).in_((ContactStatus.OPEN, ContactStatus.UNANSWERED)),
                            and_(
                                col(Contact.status) == ContactStatus.ACKNOWLEDGED,
                                col(Contact.acknowledged_by) == col(OutboundMessage.staff_id),
                                select(col(PageStep.id))
                                .where(
                                    col(PageStep.message_id) == col(OutboundMessage.id),
                                    col(PageStep.purpose).in_(TO_HOLDER),
                                )
                                .exists(),
                            ),
                        ),
                    )
                ).scalars()
            )
        dropped = calls - needed
        if not dropped:
            return claimed
        table = table_of(OutboundMessage)
        self.db.write_one(
            table.update()
            .where(table.c.id.in_(dropped), table.c.status == OutboxStatus.SENDING)
            .values(status=CALL_NOT_NEEDED, next_attempt_at=None, updated_at=self.clock()),
            None,
        )
        return [m for m in claimed if m.id not in dropped]

    def _pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.concurrency, thread_name_prefix="send"
                )
            return self._executor

    def close(self) -> None:
        self._loop.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def apply_early_callbacks(self) -> None:
        """The sweep: callbacks whose early row committed just after a round looked."""
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

    def _apply_early_callbacks(self, message_ids: list[int] | None) -> bool:
        if message_ids == []:
            return False
        if message_ids is not None and not results.early_callbacks_waiting(self.db, message_ids):
            return False
        return results.apply_early_callbacks(self.db, message_ids, self.clock(), self.on_failure)
