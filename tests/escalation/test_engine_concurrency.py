"""Two escalation engines on one PostgreSQL database: every due escalation
fires exactly once (FOR UPDATE SKIP LOCKED), with real commits."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from app.contacts.models import Contact, ContactEvent
from app.db import Database
from app.escalation.tick import tick
from app.inbound.sms import InboundSms, handle_inbound_sms
from app.messaging.models import OutboundMessage
from app.messaging.senders import SendResult
from tests.conftest import make_settings
from tests.factories import make_client, make_staff, make_team

ALWAYS = [
    {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}
]
CONTACTS = 120


def side_by_side(functions: list) -> list:
    """Each function in a thread of its own, all released at once; their
    results in order. An exception in any of them fails the test."""
    start = threading.Barrier(len(functions))
    results: list = [None] * len(functions)
    errors: list[Exception] = []

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = functions[index]()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(functions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def shared_by_two(committed_pg, step, *, due, settings, expected: int, who: str) -> None:
    """`step` (a tick or a round of due rules, ten at a time) at `due` on two
    instances at once: together they do `expected` items, and each does some."""
    databases = [Database.from_url(committed_pg) for _ in range(2)]
    try:
        results = side_by_side(
            [lambda db=db: step(db=db, now=due, settings=settings, batch=10) for db in databases]
        )
    finally:
        for database in databases:
            database.engine.dispose()
    assert sum(results) == expected
    assert all(r > 0 for r in results), f"both {who} should have shared the work: {results}"


def assert_once_per_contact(s, contact_id, *where, contacts: int) -> None:
    """Every one of the `contacts` contacts has exactly one row matching `where`."""
    counts = s.execute(select(contact_id, func.count()).where(*where).group_by(contact_id)).all()
    assert len(counts) == contacts and all(n == 1 for _, n in counts)


def texts_in(s, *, team, now, settings, count: int) -> None:
    """A text from each of the first `count` clients' phones."""
    for i in range(count):
        handle_inbound_sms(
            session=s,
            team=team,
            now=now,
            settings=settings,
            sms=InboundSms(
                message_sid=f"SM{i:032d}", from_number=f"+1201555{1000 + i:04d}", body="help"
            ),
        )


def team_with_case_manager(s):
    """A team and a case manager who works around the clock."""
    team = make_team(s, crisis_line_number="+19735550100")
    return team, make_staff(s, team, phone="+12015550181", working_hours=ALWAYS)


def test_two_engines_fire_each_escalation_once(committed_pg):
    settings, seed_db = make_settings(committed_pg), Database.from_url(committed_pg)
    now = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
    with seed_db.session() as s:
        team, cm = team_with_case_manager(s)
        backup = make_staff(s, team, phone="+12015550182", working_hours=ALWAYS)
        make_staff(s, team, phone="+12015550180", role="supervisor")
        for i in range(CONTACTS):
            make_client(
                s,
                team,
                preferred_name=f"C{i}",
                assigned_case_manager_id=cm.id,
                backup_case_manager_id=backup.id,
                phones=[(f"+1201555{1000 + i:04d}", "self")],
            )
        team_id = team.id
    with seed_db.session() as s:
        from app.teams.models import Team

        team = s.get(Team, team_id)
        texts_in(s, team=team, now=now, settings=settings, count=CONTACTS)

        # The notifications left at once (a level waits while its notifications
        # have not left: carrier trouble is not "nobody answered").
        s.execute(
            update(OutboundMessage)
            .where(OutboundMessage.purpose == "notify")
            .values(status="sent", updated_at=now)
        )

    due = now + timedelta(seconds=team.ack_timeout_seconds + 1)
    shared_by_two(committed_pg, tick, due=due, settings=settings, expected=CONTACTS, who="engines")

    with seed_db.session() as s:
        assert_once_per_contact(
            s, ContactEvent.contact_id, ContactEvent.kind == "escalated", contacts=CONTACTS
        )
        level2 = s.execute(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.level == 2, OutboundMessage.purpose == "notify")
        ).scalar_one()
        assert level2 == CONTACTS
        assert (
            s.execute(
                select(func.count()).select_from(Contact).where(Contact.level == 2)
            ).scalar_one()
            == CONTACTS
        )
    seed_db.engine.dispose()


class CountingTwilio:
    """The network boundary: counts what it was handed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.bodies: list[str] = []

    def send(self, *, to, from_, body, status_callback):
        with self.lock:
            self.bodies.append(body)
            return SendResult(ok=True, provider_sid=f"SM{len(self.bodies):032d}", status="queued")

    def close(self):
        pass


def test_two_senders_claim_each_message_once(committed_pg):
    """The claim is one UPDATE … RETURNING over a FOR UPDATE SKIP LOCKED
    sub-select: two instances' senders draining one outbox at once hand every
    message to Twilio once and share the work."""
    from app.messaging.dispatcher import Dispatcher
    from app.messaging.outbox import enqueue

    seed_db = Database.from_url(committed_pg)
    now = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
    with seed_db.session() as s:
        team = make_team(s, crisis_line_number="+19735550100")
        for i in range(300):
            enqueue(
                session=s,
                team=team,
                to_number=f"+1201555{2000 + i:04d}",
                body=f"message {i}",
                purpose="notify",
                now=now,
            )
    twilio = CountingTwilio()
    both_claimed = threading.Barrier(2, timeout=30)

    class Sender(Dispatcher):
        """Sends its first round only once the other sender has claimed one too:
        the two drains overlap whichever thread the scheduler runs first."""

        first_round = True

        def _claim(self, ids, now):
            claimed = super()._claim(ids, now)
            if self.first_round:
                self.first_round = False
                both_claimed.wait()
            return claimed

    databases = [Database.from_url(committed_pg) for _ in range(2)]
    senders = [
        Sender(
            db=db,
            sender=twilio,
            status_callback_url="http://127.0.0.1/twilio/status",
            clock=lambda: now,
            concurrency=4,
        )
        for db in databases
    ]
    sent = side_by_side([lambda d=d: d.drain(max_rounds=100) for d in senders])
    assert sorted(twilio.bodies) == sorted(f"message {i}" for i in range(300))
    assert sum(sent) == 300 and all(n > 0 for n in sent), (
        f"both senders should have shared the work: {sent}"
    )
    with seed_db.session() as s:
        rows = s.execute(select(OutboundMessage.status, OutboundMessage.attempts)).all()
    assert {(status, attempts) for status, attempts in rows} == {("queued", 1)}
    for d in senders:
        d.close()
    for e in databases + [seed_db]:
        e.engine.dispose()
