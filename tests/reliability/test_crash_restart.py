"""kill -9 of the server mid-escalation, again and again: after each restart
every escalation still fires, exactly once, in order.

A real `crisisroute serve` with its worker (tick every 0.2 s) and a team
whose levels time out after 2 s (case manager → backup → supervisor →
external fallback). While the contacts climb the plan the server is killed
with SIGKILL at random moments and started again on the same database.

The database must show each escalation once. At the Twilio stand-in each
staff notification arrives at least once; it may arrive twice only if its
row was claimed more than once (the dispatcher's documented at-least-once
send when a process dies between handing a message to Twilio and writing
down that it did).
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from benchmarks.common import wait_until
from tests.reliability.conftest import arrivals_by_notification, facts, seed, send, texts

pytestmark = pytest.mark.slow

CONTACTS = 12
KILLS = 5


def test_every_escalation_fires_once_across_kill9_restarts(database_url, servers, stand_in):
    crash_and_restart(database_url, servers, stand_in, contacts=CONTACTS, kills=KILLS)


def crash_and_restart(
    database_url,
    servers,
    stand_in,
    *,
    contacts: int,
    kills: int,
    seed_value: int = 8,
    ack_timeout_seconds: int = 2,
) -> None:
    from app.db import utcnow

    world = seed(
        database_url, clients=contacts, case_managers=4, ack_timeout_seconds=ack_timeout_seconds
    )
    server = servers.start(database_url=database_url, twilio_url=stand_in.url, tick_seconds=0.2)
    senders = list(world.clients)
    results = send(server, texts(world, senders), concurrency=min(contacts, 50))
    assert {r.status for r in results} == {200}
    # The worker routes the recorded texts: crash only once every contact is climbing.
    assert wait_until(lambda: len(facts(database_url).contacts) == contacts, 30, interval=0.1)
    opened_at = utcnow()

    chaos = random.Random(seed_value)
    crashes = []
    for _ in range(kills):
        time.sleep(chaos.uniform(0.3, 1.5))  # the moment of the crash, not a synchronisation
        server.kill9()
        crashes.append(utcnow())
        server.start()  # same database; ready when /readyz says so

    def finished() -> bool:
        f = facts(database_url)
        return (
            len(f.contacts) == contacts
            and all(c.status == "unanswered" for c in f.contacts)
            and not f.unsent()
        )

    # The dispatcher's lease on a message claimed by a killed process lasts 60 s.
    assert wait_until(finished, 90 + contacts, interval=0.5), (
        "escalations did not all complete after the restarts"
    )
    f = facts(database_url)
    assert len(f.contacts) == contacts

    # Each contact climbed every level exactly once.
    escalations = f.escalations()
    assert escalations == Counter({(c.id, level): 1 for c in f.contacts for level in (2, 3, 4)})
    assert any(e.kind == "escalated" and e.at > crashes[0] for e in f.events), (
        "no escalation crossed a restart"
    )
    assert opened_at < crashes[0]
    rows = f.notify_rows()
    assert set(rows.values()) == {1}, "a notification was queued twice"
    assert {(c, level) for c, level, _ in rows} == {
        (c.id, level) for c in f.contacts for level in (1, 2, 3)
    }
    fallback = Counter(m.contact_id for m in f.messages if m.purpose == "fallback")
    assert fallback == Counter(c.id for c in f.contacts)

    # At Twilio: every notification at least once, twice only if claimed twice; levels in order.
    arrived = arrivals_by_notification(stand_in)
    attempts = {
        (m.contact_id, m.level, m.to_number): m.attempts
        for m in f.messages
        if m.purpose == "notify"
    }
    assert set(arrived) == set(attempts)
    assert [
        (key, len(hits), attempts[key])
        for key, hits in arrived.items()
        if not 1 <= len(hits) <= attempts[key]
    ] == []
    for contact in f.contacts:
        first = {
            level: min(
                a.at
                for (c, lv, _), hits in arrived.items()
                if c == contact.id and lv == level
                for a in hits
            )
            for level in (1, 2, 3)
        }
        assert first[1] < first[2] < first[3], (contact.id, first)
    fallback_arrivals = Counter(
        a.to for a in stand_in.accepted if a.body.startswith("We could not reach")
    )
    assert set(fallback_arrivals) == set(senders)
