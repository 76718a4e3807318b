"""Twilio's status callbacks arrive out of order, repeated, and at the same
moment: a message's status only ever moves forward (never delivered → sent),
and a repeated "undelivered" escalates once."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import httpx
import pytest

from benchmarks.common import sign, wait_until
from tests.reliability.conftest import facts, seed, send, texts

pytestmark = pytest.mark.slow

CONTACTS = 30


async def callbacks(server, batch: list[dict]) -> list[int]:
    url = server.url + "/twilio/status"
    async with httpx.AsyncClient(timeout=15, limits=httpx.Limits(max_connections=50)) as c:

        async def one(params):
            r = await c.post(url, data=params, headers={"X-Twilio-Signature": sign(url, params)})
            return r.status_code

        return await asyncio.gather(*(one(p) for p in batch))


def test_concurrent_out_of_order_callbacks_only_move_status_forward(
    database_url, servers, stand_in
):
    world = seed(database_url, clients=CONTACTS, case_managers=5, ack_timeout_seconds=300)
    server = servers.start(database_url=database_url, twilio_url=stand_in.url, tick_seconds=0.5)
    assert {r.status for r in send(server, texts(world, list(world.clients)))} == {200}
    assert wait_until(lambda: not facts(database_url).unsent(), 20)
    f = facts(database_url)
    replies = [m for m in f.messages if m.purpose == "auto_reply"]
    notes = [m for m in f.messages if m.purpose == "notify"]
    assert len(replies) == len(notes) == CONTACTS

    batch = []
    for m in replies:  # delivered, with a late "sent" racing it, each sent twice
        batch += [
            {"MessageSid": m.provider_sid, "MessageStatus": s, "AccountSid": "AC"}
            for s in ("sent", "delivered")
        ] * 2
    for m in notes:  # the level-1 notification fails, Twilio repeats the callback
        batch += [
            {
                "MessageSid": m.provider_sid,
                "MessageStatus": "undelivered",
                "ErrorCode": "30003",
                "AccountSid": "AC",
            }
        ] * 3 + [{"MessageSid": m.provider_sid, "MessageStatus": "sent", "AccountSid": "AC"}]
    random.Random(5).shuffle(batch)
    assert set(asyncio.run(callbacks(server, batch))) == {204}

    assert wait_until(lambda: not facts(database_url).unsent(), 20)
    f = facts(database_url)
    status = {m.id: m.status for m in f.messages}
    assert [m.id for m in replies if status[m.id] != "delivered"] == [], "a status moved backwards"
    assert [m.id for m in notes if status[m.id] != "undelivered"] == [], "a status moved backwards"
    # Each failed level-1 notification escalated its contact once, at once.
    assert f.escalations() == Counter({(c.id, 2): 1 for c in f.contacts})
    assert Counter(e.contact_id for e in f.events if e.kind == "delivery_failed") == Counter(
        {c.id: 1 for c in f.contacts}
    ), "a repeated callback was recorded again"
