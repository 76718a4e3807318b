"""Two staff members answer the same contact at the same moment (the case
manager and the backup, both notified once it escalated): one of them owns
it. The timeline shows one acknowledgement, and only one of them is told
"#id is yours" — two people each believing they hold a crisis is a doubled
response, not a safe one."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from benchmarks.common import notification_ref, post_signed, sms_params, wait_until
from tests.reliability.conftest import facts, seed, send, texts

pytestmark = pytest.mark.slow

CONTACTS = 10


def test_two_simultaneous_acks_leave_one_owner(database_url, servers, stand_in):
    world = seed(database_url, clients=CONTACTS, case_managers=CONTACTS, ack_timeout_seconds=2)
    server = servers.start(database_url=database_url, twilio_url=stand_in.url, tick_seconds=0.2)
    backup = next(iter(world.backups.values()))
    assert {r.status for r in send(server, texts(world, list(world.clients)))} == {200}

    def escalated_to_backup() -> dict[int, str]:
        """contact id -> its case manager's phone, once the backup was notified too."""
        level1 = {
            notification_ref(a.body)[0]: a.to
            for a in stand_in.accepted
            if notification_ref(a.body) and notification_ref(a.body)[1] == 1
        }
        level2 = {
            notification_ref(a.body)[0] for a in stand_in.to(backup) if notification_ref(a.body)
        }
        return {cid: phone for cid, phone in level1.items() if cid in level2}

    assert wait_until(lambda: len(escalated_to_backup()) == CONTACTS, 20)
    pairs = escalated_to_backup()

    async def both_ack():
        async with httpx.AsyncClient(timeout=15) as c:
            return await asyncio.gather(
                *(
                    post_signed(
                        c, server.url, "/twilio/sms", sms_params(phone, world.line, f"#{cid} ACK")
                    )
                    for cid, cm_phone in pairs.items()
                    for phone in (cm_phone, backup)
                )
            )

    assert {r.status_code for r in asyncio.run(both_ack())} == {200}
    assert wait_until(lambda: not facts(database_url).unsent(), 20)
    f = facts(database_url)
    acks = Counter(e.contact_id for e in f.events if e.kind == "acknowledged")
    once = Counter({cid: 1 for cid in pairs})
    assert acks == once, "a contact was acknowledged twice (or not at all)"
    owners = {c.id: c.acknowledged_by for c in f.contacts}
    assert all(owners[cid] is not None for cid in pairs)
    told_yours = Counter(
        int(m.body.split()[0][1:])
        for m in f.messages
        if m.purpose == "command_reply" and " is yours" in m.body
    )
    assert told_yours == once, "both staff members were told the contact is theirs"
