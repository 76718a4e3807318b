"""Two `crisisroute serve` instances against one PostgreSQL database, both
running their escalation tick and outbox dispatcher, texts arriving at both:
every escalation happens exactly once and every message reaches Twilio once.
(tests/escalation/test_engine_concurrency.py proves it for the engine in one
process; this proves it for two real servers.)"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from benchmarks.common import open_loop, wait_until
from tests.reliability.conftest import arrivals_by_notification, facts, seed, texts

pytestmark = pytest.mark.slow

CONTACTS = 40


def test_two_servers_fire_each_escalation_once(pg_url, servers, stand_in):
    world = seed(pg_url, clients=CONTACTS, case_managers=8, ack_timeout_seconds=1)
    a = servers.start(database_url=pg_url, twilio_url=stand_in.url, tick_seconds=0.2)
    b = servers.start(database_url=pg_url, twilio_url=stand_in.url, tick_seconds=0.2)
    senders = list(world.clients)
    requests = texts(world, senders)

    async def both():
        return await asyncio.gather(
            open_loop(
                base_url=a.url, path="/twilio/sms", requests=requests[0::2], rate=10, max_seconds=20
            ),
            open_loop(
                base_url=b.url, path="/twilio/sms", requests=requests[1::2], rate=10, max_seconds=20
            ),
        )

    results = [r for batch in asyncio.run(both()) for r in batch]
    assert Counter(r.status for r in results) == {200: CONTACTS}

    def finished() -> bool:
        f = facts(pg_url)
        return (
            len(f.contacts) == CONTACTS
            and all(c.status == "unanswered" for c in f.contacts)
            and not f.unsent()
        )

    assert wait_until(finished, 60, interval=0.5)
    f = facts(pg_url)
    assert f.escalations() == Counter({(c.id, level): 1 for c in f.contacts for level in (2, 3, 4)})
    rows = f.notify_rows()
    assert set(rows.values()) == {1}
    assert {(c, level) for c, level, _ in rows} == {
        (c.id, level) for c in f.contacts for level in (1, 2, 3)
    }
    assert Counter(m.contact_id for m in f.messages if m.purpose == "fallback") == Counter(
        c.id for c in f.contacts
    )
    assert Counter(m.contact_id for m in f.messages if m.purpose == "alert") == Counter(
        c.id for c in f.contacts
    )

    # At Twilio, with no crash: exactly once each, and nothing else twice.
    arrived = arrivals_by_notification(stand_in)
    assert set(arrived) == set(rows)
    assert [key for key, hits in arrived.items() if len(hits) != 1] == []
    assert [k for k, n in Counter((x.to, x.body) for x in stand_in.accepted).items() if n > 1] == []
    assert len(stand_in.accepted) == len(f.messages)

    # Both instances did escalation work (otherwise this proved nothing about two).
    for server in (a, b):
        log = server.log_text()
        assert log.count('"contact_escalated"') + log.count('"contact_unanswered"') > 0, (
            "one instance never escalated"
        )
