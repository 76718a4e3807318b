"""The dispatcher hands different contacts' messages to Twilio side by side
and one contact's messages one after another, in the order they were written.

A real SQLite file (not the shared rolled-back connection of the other tests,
which threads must not use at once); the sender is the network boundary."""

from __future__ import annotations

import itertools
import threading

from sqlalchemy import select

from app import migrations
from app.db import Database
from app.messaging.dispatcher import Dispatcher
from app.messaging.models import OutboundMessage
from app.messaging.senders import SendResult
from tests.factories import make_team
from tests.messaging.helpers import fresh_database, make_sender, queue, sms_contact

CONTACTS = 4


class TwilioThatNeedsCompany:
    """Answers a contact's first message only once every contact's first
    message is in flight at the same time (a barrier): sent one at a time,
    the barrier breaks and those sends fail."""

    def __init__(self):
        self.first_of_each = threading.Barrier(CONTACTS, timeout=10)
        self.lock = threading.Lock()
        self.bodies: list[str] = []
        self.seen: set[str] = set()
        self.sids = itertools.count(1)

    def send(self, *, to, from_, body, status_callback):
        contact = body.split()[0]
        with self.lock:
            first = contact not in self.seen
            self.seen.add(contact)
        if first:
            try:
                self.first_of_each.wait()
            except threading.BrokenBarrierError:
                return SendResult(ok=False, error_code="not concurrent", permanent=True)
        with self.lock:
            self.bodies.append(body)
            return SendResult(ok=True, provider_sid=f"SM{next(self.sids):032d}", status="queued")

    def close(self):
        pass


def test_contacts_are_sent_side_by_side_and_each_contacts_messages_in_order(tmp_path):
    database = fresh_database(tmp_path / "sends.db")
    with database.session() as session:
        team = make_team(session, crisis_line_number="+19735550123")
        contacts = [sms_contact(session, team, f"+1201555017{i}") for i in range(CONTACTS)]
        for step in ("first", "second", "third"):
            for contact in contacts:
                queue(session, team, contact, f"c{contact.id} {step}")
    twilio = TwilioThatNeedsCompany()
    dispatcher = make_sender(database, twilio, concurrency=8)
    try:
        assert dispatcher.dispatch() == 3 * CONTACTS
    finally:
        dispatcher.close()
    for contact in contacts:
        mine = [b.split()[1] for b in twilio.bodies if b.startswith(f"c{contact.id} ")]
        assert mine == ["first", "second", "third"]
    with database.session() as session:
        statuses = {m.status for m in session.execute(select(OutboundMessage)).scalars()}
    assert statuses == {"queued"}


class TwilioHeldOpen:
    """Each send waits until the test lets it answer (Twilio's API takes
    100-300 ms): whoever calls the sender is held for as long."""

    def __init__(self):
        self.in_flight = threading.Event()
        self.answer = threading.Event()
        self.sent: list[str] = []

    def send(self, *, to, from_, body, status_callback):
        self.in_flight.set()
        assert self.answer.wait(10), "the test never let Twilio answer"
        self.sent.append(body)
        return SendResult(ok=True, provider_sid=f"SM{len(self.sent):032d}", status="queued")

    def close(self):
        pass


def _queue_one(database, body: str) -> int:
    """A fresh database's one contact and one message waiting to be sent."""
    with database.session() as session:
        team = make_team(session, crisis_line_number="+19735550124")
        contact = sms_contact(session, team, "+12015550180")
        return queue(session, team, contact, body)


def test_a_background_sender_is_kicked_without_waiting_for_twilio(tmp_path):
    """The worker's mode: `kick` returns while Twilio has not answered (the
    next text is routed meanwhile), and the message is sent and recorded by
    the sender thread. Without a background sender, `kick` sends in line."""
    database = fresh_database(tmp_path / "kick.db")
    message_id = _queue_one(database, "first")
    twilio = TwilioHeldOpen()
    dispatcher = make_sender(database, twilio, concurrency=4)
    dispatcher.start_sending_in_background()
    try:
        assert dispatcher.sends_in_background
        dispatcher.kick()  # returns at once: the send below is still waiting for Twilio
        assert twilio.in_flight.wait(10)
        assert twilio.sent == []
        with database.session() as session:
            assert session.get(OutboundMessage, message_id).status == "sending"
        twilio.answer.set()
    finally:
        dispatcher.close()  # lets the in-flight send finish and record its result
    assert twilio.sent == ["first"]
    with database.session() as session:
        row = session.get(OutboundMessage, message_id)
        assert (row.status, row.provider_sid) == ("queued", f"SM{1:032d}")


def test_without_a_background_sender_kick_sends_in_line(tmp_path):
    database = fresh_database(tmp_path / "inline.db")
    message_id = _queue_one(database, "only")
    twilio = TwilioHeldOpen()
    twilio.answer.set()
    dispatcher = make_sender(database, twilio)
    try:
        assert not dispatcher.sends_in_background
        dispatcher.kick()
        assert twilio.sent == ["only"]  # sent before kick returned
        with database.session() as session:
            assert session.get(OutboundMessage, message_id).status == "queued"
    finally:
        dispatcher.close()


class CountingDispatcher(Dispatcher):
    """Counts claims (write transactions) and polls (lock-free looks)."""

    def __init__(self, *args, looks_wanted: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.claims = 0
        self.looks = 0
        self.looked_enough = threading.Event()
        self._looks_wanted = looks_wanted

    def _claim(self, ids, now):
        self.claims += 1
        return super()._claim(ids, now)

    def _look(self):
        self.looks += 1
        if self.looks >= self._looks_wanted:
            self.looked_enough.set()
        return super()._look()


def test_a_router_leaves_sending_to_a_polling_sender_in_another_process(tmp_path):
    """`serve`'s split: the router's kick sends nothing (no sending threads
    beside routing); the sender, with its own connection to the file as a
    second process has, notices the queued message by polling and sends it,
    and then polls without claiming again (a claim is a write transaction)."""
    path = tmp_path / "split.db"
    router_db = Database.from_url(f"sqlite:///{path}")
    migrations.upgrade(router_db.engine)
    message_id = _queue_one(router_db, "queued by the router")
    router_twilio, sender_twilio = TwilioHeldOpen(), TwilioHeldOpen()
    router_twilio.answer.set()
    sender_twilio.answer.set()
    router = make_sender(router_db, router_twilio)
    router.leave_sending_to_another_process()
    router.kick()
    assert router.sends_in_background and router_twilio.sent == []
    with router_db.session() as session:
        assert session.get(OutboundMessage, message_id).status == "pending"

    sender = make_sender(
        Database.from_url(f"sqlite:///{path}", background=True),
        sender_twilio,
        CountingDispatcher,
        looks_wanted=12,
    )
    sender.start_sending_in_background(poll_seconds=0.001)
    try:
        assert sender.looked_enough.wait(10)
    finally:
        sender.close()
    assert sender_twilio.sent == ["queued by the router"]
    # One claim took the message, one found nothing left; the later polls saw no change.
    assert sender.claims == 2
    with router_db.session() as session:
        assert session.get(OutboundMessage, message_id).status == "queued"


def test_the_outbox_poll_reads_while_another_process_holds_the_write_lock(tmp_path):
    """The sender polls 20 times a second: through a session it would queue
    for SQLite's write lock behind every webhook (and make them queue)."""
    import sqlite3

    from app.messaging.dispatcher import outbox_signal

    path = tmp_path / "peek.db"
    database = Database.from_url(f"sqlite:///{path}")
    migrations.upgrade(database.engine)
    message_id = _queue_one(database, "one")
    writer = sqlite3.connect(path, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE outbound_message SET status = 'sending'")
    try:
        # Reads the last committed state, at once, while the write is open.
        assert tuple(database.peek(outbox_signal())) == (message_id, 1)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


class TwilioSlowForTheClient:
    """The client's auto-reply is answered only once the staff notification
    has reached Twilio: sent one after the other, as a contact's messages
    once were, the auto-reply times out and the notification waits for it."""

    def __init__(self):
        self.notification_sent = threading.Event()
        self.lock = threading.Lock()
        self.order: list[str] = []

    def send(self, *, to, from_, body, status_callback):
        if body == "auto-reply" and not self.notification_sent.wait(5):
            return SendResult(ok=False, error_code="notification never overtook", permanent=True)
        with self.lock:
            self.order.append(body)
        if body == "notify level 1":
            self.notification_sent.set()
        return SendResult(ok=True, provider_sid=f"SM{len(self.order):032d}", status="queued")

    def close(self):
        pass


def test_a_contacts_lanes_are_sent_side_by_side_and_each_in_order(tmp_path):
    """Messages to the client and the staff notifications of one contact are
    separate lanes: the notification does not wait for Twilio to answer the
    auto-reply. Within a lane the order holds: level 1's notification before
    level 2's (different people), the auto-reply before a later relay to the
    same client."""
    database = fresh_database(tmp_path / "lanes.db")
    with database.session() as session:
        team = make_team(session, crisis_line_number="+19735550125")
        contact = sms_contact(session, team, "+12015550181")
        for to, body, purpose, level in (
            ("+12015550181", "auto-reply", "auto_reply", None),
            ("+12013000001", "notify level 1", "notify", 1),
            ("+12013000002", "notify level 2", "notify", 2),
            ("+12015550181", "relay", "relay", None),
        ):
            queue(session, team, contact, body, to=to, purpose=purpose, level=level)
    twilio = TwilioSlowForTheClient()
    dispatcher = make_sender(database, twilio, concurrency=8)
    try:
        assert dispatcher.dispatch() == 4
    finally:
        dispatcher.close()
    assert twilio.order.index("notify level 1") < twilio.order.index("auto-reply")
    assert twilio.order.index("notify level 1") < twilio.order.index("notify level 2")
    assert twilio.order.index("auto-reply") < twilio.order.index("relay")
    with database.session() as session:
        assert {m.status for m in session.execute(select(OutboundMessage)).scalars()} == {"queued"}


def test_a_message_queued_while_a_round_waits_on_twilio_goes_at_once(tmp_path):
    """The background sender does not wait for a round's slowest answer
    before it claims what was queued meanwhile: the second contact's message
    reaches Twilio while the first one's is still waiting for its answer."""
    database = fresh_database(tmp_path / "rounds.db")
    with database.session() as session:
        team = make_team(session, crisis_line_number="+19735550126")
    first_in_flight, second_sent = threading.Event(), threading.Event()
    order: list[str] = []

    class Twilio:
        def send(self, *, to, from_, body, status_callback):
            if body == "first":
                first_in_flight.set()
                if not second_sent.wait(5):
                    return SendResult(ok=False, error_code="second waited", permanent=True)
            else:
                second_sent.set()
            order.append(body)
            return SendResult(ok=True, provider_sid=f"SM{len(order):032d}", status="queued")

        def close(self):
            pass

    def relay_to(body: str, number: str) -> None:
        with database.session() as session:
            contact = sms_contact(session, team, number)
            queue(session, team, contact, body)

    dispatcher = make_sender(database, Twilio(), concurrency=8)
    dispatcher.start_sending_in_background()
    try:
        relay_to("first", "+12015550182")
        dispatcher.kick()
        assert first_in_flight.wait(10)
        relay_to("second", "+12015550183")
        dispatcher.kick()
        assert second_sent.wait(10)
    finally:
        dispatcher.close()
    assert order == ["second", "first"]
    with database.session() as session:
        assert {m.status for m in session.execute(select(OutboundMessage)).scalars()} == {"queued"}
