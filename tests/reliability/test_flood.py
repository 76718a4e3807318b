"""A flood of signed SMS, every webhook delivered twice, at concurrency 50,
against a real `crisisroute serve`: no contact lost or duplicated, no
notification doubled, no 5xx.

Each sender texts twice (two MessageSids) and each webhook is delivered twice
(Twilio's retry), all shuffled together, so a sender's two texts and both
copies of each may be handled at the same moment.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from benchmarks.common import client_number, sms_params, wait_until
from tests.reliability.conftest import arrivals_by_notification, facts, seed, send

pytestmark = pytest.mark.slow

KNOWN = 100
UNKNOWN = 25


def test_flood_of_duplicated_webhooks_loses_and_doubles_nothing(database_url, servers, stand_in):
    flood(database_url, servers, stand_in, known=KNOWN, unknown=UNKNOWN)


def flood(
    database_url, servers, stand_in, *, known: int, unknown: int, concurrency: int = 50
) -> None:
    world = seed(database_url, clients=known)
    server = servers.start(database_url=database_url, twilio_url=stand_in.url, tick_seconds=0.5)
    senders = list(world.clients) + [client_number(500000 + i) for i in range(unknown)]
    messages = [
        (n, sms_params(n, world.line, f"text {k} from a person in crisis"))
        for n in senders
        for k in (1, 2)
    ]
    deliveries = messages * 2
    random.Random(2026).shuffle(deliveries)

    results = send(server, deliveries, concurrency=concurrency, max_seconds=600)

    assert len(results) == len(deliveries)
    assert Counter(r.status for r in results) == {200: len(deliveries)}, Counter(
        (r.status, r.error) for r in results
    )
    assert wait_until(lambda: not facts(database_url).unsent(), 60, interval=0.5), (
        "outbox never drained"
    )
    f = facts(database_url)

    # Each text in the inbox once (both deliveries of a MessageSid are one row), every one routed.
    assert Counter(m.message_sid for m in f.inbox) == Counter(p["MessageSid"] for _, p in messages)
    assert Counter(m.outcome for m in f.inbox) == {
        "opened": len(senders),
        "continued": len(senders),
    }
    # One contact per sender, none lost, none doubled.
    per_sender = Counter(c.from_number for c in f.contacts)
    assert set(per_sender) == set(senders)
    assert [n for n, count in per_sender.items() if count != 1] == []
    # Every text recorded exactly once (its MessageSid), on its sender's contact.
    received = Counter(e.idempotency_key for e in f.events if e.kind == "received")
    assert set(received) == {p["MessageSid"] for _, p in messages}
    assert set(received.values()) == {1}
    # One auto-reply per sender, one level-1 notification per (contact, staff): in the outbox and at Twilio.
    auto = Counter(m.to_number for m in f.messages if m.purpose == "auto_reply")
    assert auto == Counter(senders)
    rows = f.notify_rows()
    assert rows and set(rows.values()) == {1}
    assert {c for c, level, _ in rows if level == 1} == {c.id for c in f.contacts}
    arrived = arrivals_by_notification(stand_in)
    assert set(arrived) == set(rows)
    assert [key for key, hits in arrived.items() if len(hits) != 1] == []
    assert Counter(a.to for a in stand_in.accepted if a.to in set(senders)) == Counter(senders)
    # Nothing went wrong inside either.
    assert '"level": "error"' not in server.log_text()
