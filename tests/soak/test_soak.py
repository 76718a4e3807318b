"""The reliability suites, bigger and longer."""

from __future__ import annotations

import pytest

from tests.reliability.test_crash_restart import crash_and_restart
from tests.reliability.test_flood import flood

pytestmark = [pytest.mark.soak, pytest.mark.slow]


def test_big_flood_of_duplicated_webhooks(database_url, servers, stand_in):
    """2,000 texts from 1,000 senders, each delivered twice: 4,000 webhooks at concurrency 50."""
    flood(database_url, servers, stand_in, known=800, unknown=200)


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_many_kill9_restarts_mid_escalation(database_url, servers, stand_in, round_):
    crash_and_restart(
        database_url,
        servers,
        stand_in,
        contacts=30,
        kills=10,
        seed_value=round_,
        ack_timeout_seconds=4,
    )


def test_database_hanging_keeps_the_line_answered_and_recovers(pg_url, servers, stand_in):
    """PostgreSQL stops answering (connections stay open, nothing comes back)
    for longer than Twilio's 15 s webhook timeout. New connections give up
    after connect_timeout (3 s) and the webhook answers 503, well inside
    Twilio's timeout; a request already holding a pooled connection waits (Twilio
    then times out and uses the fallback URL). The fallback URL answers at
    once throughout, and when the database answers again everything resumes
    without a restart: the escalation due during the hang fires, once."""
    import asyncio
    import time

    import httpx
    from sqlalchemy.engine import make_url

    from benchmarks.common import HOST, post_signed, sms_params, wait_until
    from tests.reliability.conftest import facts, seed, send, texts
    from tests.reliability.test_database_down import Relay, signed

    class FreezingRelay(Relay):
        frozen = False

        @staticmethod
        def _pump(source, sink):
            try:
                while data := source.recv(65536):
                    while FreezingRelay.frozen:
                        time.sleep(0.05)
                    sink.sendall(data)
            except OSError:
                pass

    world = seed(pg_url, clients=20, case_managers=2, ack_timeout_seconds=2, line="+19735550100")
    target = make_url(pg_url)
    relay = FreezingRelay(target.port or 5432).start()
    try:
        server = servers.start(
            database_url=target.set(host=HOST, port=relay.port).render_as_string(
                hide_password=False
            ),
            twilio_url=stand_in.url,
            tick_seconds=0.2,
        )
        senders = list(world.clients)
        assert {r.status for r in send(server, texts(world, senders[:2]))} == {200}
        FreezingRelay.frozen = True
        started = time.monotonic()

        async def during_hang():
            async with httpx.AsyncClient(timeout=16) as c:

                async def one(number):
                    t = time.monotonic()
                    try:
                        r = await post_signed(
                            c, server.url, "/twilio/sms", sms_params(number, world.line, "hi")
                        )
                        return r.status_code, time.monotonic() - t
                    except httpx.TimeoutException:
                        return "timeout", time.monotonic() - t

                return await asyncio.gather(*(one(n) for n in senders[2:8]))

        answers = asyncio.run(during_hang())
        assert all(status in (503, "timeout") for status, _ in answers), answers
        assert sum(1 for status, seconds in answers if status == 503 and seconds < 5) >= 4, answers
        while time.monotonic() - started < 16:  # hang longer than Twilio's webhook timeout
            r, seconds = signed(
                server, "/twilio/fallback", {"CallSid": "CA1", "From": senders[0], "To": world.line}
            )
            assert r.status_code == 200 and world.fallback in r.text and seconds < 1.0
            time.sleep(1)
        FreezingRelay.frozen = False
        assert wait_until(
            lambda: (
                (contacts := facts(pg_url).contacts)
                and all(c.status == "unanswered" for c in contacts)
            ),
            30,
        )
        f = facts(pg_url)
        assert f.escalations() == {(c.id, level): 1 for c in f.contacts for level in (2, 3, 4)}
        assert {r.status for r in send(server, texts(world, senders[10:12]))} == {200}
    finally:
        FreezingRelay.frozen = False
        relay.cut()
