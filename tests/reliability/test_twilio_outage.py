"""Twilio's REST API failing: first answering 500, then not answering at all
(the sender times out), then recovering.

Meanwhile texts keep arriving: the webhooks still answer 200 at once (they
never wait for Twilio), and after recovery every auto-reply and every staff
notification is delivered, once, with each contact's levels reaching staff
in escalation order.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from benchmarks.common import wait_until
from tests.reliability.conftest import arrivals_by_notification, facts, seed, send, texts

pytestmark = pytest.mark.slow

CONTACTS = 10
ERRORS_FOR = 3.0  # seconds of HTTP 500
HANGS_FOR = 2.0  # then seconds of no answer (requests held past the sender's 10 s timeout)


def test_webhooks_answer_during_a_twilio_outage_and_everything_is_delivered_after(
    sqlite_url, servers, stand_in
):
    world = seed(sqlite_url, clients=CONTACTS, case_managers=4, ack_timeout_seconds=3)
    server = servers.start(database_url=sqlite_url, twilio_url=stand_in.url, tick_seconds=0.2)
    # The outage lasts until the sender has met it (its child process may
    # take seconds to start on a busy machine), then ERRORS_FOR more.
    stand_in.fail_until = stand_in.hang_until = time.monotonic() + 3600
    senders = list(world.clients)

    first = send(server, texts(world, senders[:5]), concurrency=5)
    assert wait_until(lambda: any(a.answered == 500 for a in stand_in.arrivals), 30)
    stand_in.fail_until = time.monotonic() + ERRORS_FOR
    stand_in.hang_until = stand_in.fail_until + HANGS_FOR
    assert wait_until(lambda: time.monotonic() > stand_in.fail_until, 10)
    second = send(server, texts(world, senders[5:]), concurrency=5)  # while Twilio hangs
    for result in first + second:
        assert result.status == 200
        assert result.done - result.sent < 1.0, "a webhook waited on Twilio"
    assert any(a.answered == 500 for a in stand_in.arrivals), "the outage was not exercised"
    assert wait_until(lambda: any(a.answered == 0 for a in stand_in.arrivals), 15), "no send hung"

    def delivered() -> bool:
        f = facts(sqlite_url)
        return (
            len(f.contacts) == CONTACTS
            and all(c.status == "unanswered" for c in f.contacts)
            and not f.unsent()
        )

    assert wait_until(delivered, 90, interval=0.5), "not everything was delivered after recovery"
    f = facts(sqlite_url)
    assert not [m for m in f.messages if m.status == "failed"], "a message was given up on"
    assert any(m.attempts > 1 for m in f.messages), "nothing was retried"

    # Every auto-reply and fallback text reached its sender once; every notification its staff member once.
    to_senders = Counter(a.to for a in stand_in.accepted if a.to in set(senders))
    assert to_senders == Counter({n: 2 for n in senders})  # auto-reply + the fallback text
    rows = f.notify_rows()
    arrived = arrivals_by_notification(stand_in)
    assert set(arrived) == set(rows)
    assert [key for key, hits in arrived.items() if len(hits) != 1] == []
    assert f.escalations() == Counter({(c.id, level): 1 for c in f.contacts for level in (2, 3, 4)})

    # Escalation order kept: each contact's levels reached staff in order.
    for contact in f.contacts:
        at = {
            level: min(
                h.at
                for (c, lv, _), hits in arrived.items()
                if c == contact.id and lv == level
                for h in hits
            )
            for level in (1, 2, 3)
        }
        assert at[1] < at[2] < at[3], (contact.id, at)
