"""A Twilio outage with two instances on one PostgreSQL database (real
commits, each instance its own router, engine and sender, side by side):
nothing is walked down its chain while nothing can leave, and when Twilio
answers again each open contact's current level is notified exactly once,
each sender oldest contact first, and no contact is `unanswered`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlalchemy import select

from app.contacts.models import Contact
from app.db import Database
from app.escalation.tick import tick
from app.inbound.inbox import Inbox, route_pending
from app.inbound.message import InboundSms
from app.messaging.senders import build_sender
from app.runtime import build_runtime
from tests.conftest import make_settings
from tests.escalation.test_engine_concurrency import ALWAYS, side_by_side
from tests.factories import make_client, make_staff, make_team
from tests.world import OFFICE_HOURS, Clock

# 80 messages queued: more than one claim (50), so both senders take a share.
CONTACTS = 40
SMS_ONLY = [{"channel": "sms", "after_seconds": 0}]


@dataclass
class Recording:
    """An instance's sender that notes what Twilio accepted from it."""

    inner: object
    name: str
    accepted: list[tuple[str, str, str]] = field(default_factory=list)

    def send(self, **kwargs):
        result = self.inner.send(**kwargs)
        if result.ok:
            self.accepted.append((self.name, kwargs["to"], kwargs["body"]))
        return result

    def call(self, **kwargs):
        return self.inner.call(**kwargs)

    def close(self) -> None:
        self.inner.close()


def contacts(db) -> list[Contact]:
    with db.session() as s:
        rows = list(s.execute(select(Contact).order_by(Contact.id)).scalars())
        s.expunge_all()
    return rows


def contact_id_of(body: str) -> int:
    return int(body.split()[1].lstrip("#"))


def test_two_instances_through_an_outage_notify_each_level_once_oldest_first(committed_pg, twilio):
    settings = make_settings(committed_pg)
    clock = Clock(OFFICE_HOURS)
    seed = Database.from_url(committed_pg)
    with seed.session() as s:
        team = make_team(s, crisis_line_number="+19735550100", ack_timeout_seconds=300)
        cm = make_staff(s, team, phone="+12015550181", working_hours=ALWAYS, notify_rules=SMS_ONLY)
        backup = make_staff(
            s, team, phone="+12015550182", working_hours=ALWAYS, notify_rules=SMS_ONLY
        )
        make_staff(s, team, phone="+12015550180", role="supervisor", notify_rules=SMS_ONLY)
        callers = [f"+1201555{1000 + i:04d}" for i in range(CONTACTS)]
        for i, number in enumerate(callers):
            make_client(
                s,
                team,
                preferred_name=f"C{i}",
                assigned_case_manager_id=cm.id,
                backup_case_manager_id=backup.id,
                phones=[(number, "self")],
            )
        cm_phone, backup_phone = cm.phone, backup.phone
    senders = [Recording(build_sender(settings), name) for name in ("A", "B")]
    instances = [
        build_runtime(settings, Database.from_url(committed_pg), sender=sender, clock=clock)
        for sender in senders
    ]

    def both(work) -> list:
        return side_by_side([lambda r=r: work(r) for r in instances])

    def tick_and_send(runtime) -> None:
        tick(db=runtime.db, now=runtime.now(), settings=runtime.settings)
        runtime.dispatcher.drain()

    # Twilio answers 503 to everything; the texts arrive a few seconds apart
    # and both instances route them as they come.
    twilio.fail_next[:] = [httpx.Response(503, json={"code": 20500})] * 100_000
    for i, number in enumerate(callers):
        Inbox(seed).record(
            InboundSms(
                message_sid=f"SMout{i:028d}",
                to_number="+19735550100",
                from_number=number,
                body=f"help {i}",
            ),
            now=clock.now,
        )
        if i % 4 == 3:
            both(lambda r: route_pending(r, together=2))
            clock.advance(seconds=5)
    both(lambda r: route_pending(r, together=2))
    for _ in range(40):  # ten minutes in 15-second ticks, on both instances
        clock.advance(seconds=15)
        both(tick_and_send)
    opened = contacts(seed)
    assert len(opened) == CONTACTS
    assert twilio.sent == []
    assert [(c.status, c.level) for c in opened] == [("open", 1)] * CONTACTS

    # Twilio recovers: past the longest retry wait everything queued leaves.
    twilio.fail_next.clear()
    clock.advance(seconds=73)
    both(lambda r: r.dispatcher.drain())  # both senders at once, on what is due
    both(tick_and_send)
    by_contact = {c.from_number: c.id for c in opened}
    notified = [
        (name, contact_id_of(body))
        for r in senders
        for name, to, body in r.accepted
        if to == cm_phone
    ]
    # Each contact's level 1 exactly once, across both instances.
    assert Counter(cid for _, cid in notified) == Counter({c.id: 1 for c in opened})
    shares = Counter(who for who, _ in notified)
    print("notifications sent by each instance after recovery:", dict(shares))
    assert set(shares) == {"A", "B"}, shares
    # Each instance sent its share oldest contact first (texts routed at the
    # same instant by the two routers are equally old, in either order).
    opened_at = {c.id: c.created_at for c in opened}
    for name in ("A", "B"):
        mine = [opened_at[cid] for who, cid in notified if who == name]
        assert mine == sorted(mine), (name, notified)
    # Every client got the auto-reply once.
    assert Counter(m.to for m in twilio.sent if m.to in by_contact) == Counter(
        {number: 1 for number in callers}
    )
    # Each level then has its full time from when its notification left.
    clock.advance(seconds=290)
    both(tick_and_send)
    assert [c.level for c in contacts(seed)] == [1] * CONTACTS
    clock.advance(seconds=20)
    both(tick_and_send)
    after = contacts(seed)
    assert [(c.status, c.level) for c in after] == [("open", 2)] * CONTACTS
    assert Counter(contact_id_of(m.body) for m in twilio.to(backup_phone)) == Counter(
        {c.id: 1 for c in opened}
    )
    for runtime in instances:
        runtime.close()
        runtime.db.engine.dispose()
    seed.engine.dispose()
