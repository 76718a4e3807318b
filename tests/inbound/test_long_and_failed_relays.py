"""Long relays arrive in ordered parts within Twilio's 1,600 characters; a
relay Twilio refuses or cannot deliver is never silent."""

from __future__ import annotations

import re

import httpx

from app.contacts.models import Contact
from tests.twilio_signing import post_signed
from tests.world import text_in, the_contact

WORDS = " ".join(f"word{i:04d}" for i in range(360))  # 3,239 characters


def taken(client, world, session) -> Contact:
    text_in(client, world, world.client_phone, "hello")
    text_in(client, world, world.case_manager.phone, "ACK")
    return the_contact(session)


def reassembled(bodies: list[str], head: str) -> str:
    n = len(bodies)
    text = []
    for i, body in enumerate(bodies, start=1):
        prefix = head.format(i=i, n=n)
        assert body.startswith(prefix) and len(body) <= 1600
        text.append(body[len(prefix) :])
    return " ".join(text)


def test_a_long_client_text_reaches_the_holder_in_ordered_parts(client, world, session, twilio):
    contact = taken(client, world, session)
    before = len(twilio.to(world.case_manager.phone))
    text_in(client, world, world.client_phone, WORDS)
    parts = [m.body for m in twilio.to(world.case_manager.phone)[before:]]
    assert len(parts) == 3
    assert reassembled(parts, f"#{contact.id} ({{i}}/{{n}}): ") == WORDS
    assert all(not re.search(r"word\d{0,3}$", p) for p in parts[:-1])  # split between words


def test_a_long_staff_reply_reaches_the_client_in_ordered_parts(client, world, session, twilio):
    taken(client, world, session)
    before = len(twilio.to(world.client_phone))
    text_in(client, world, world.case_manager.phone, WORDS)
    parts = [m.body for m in twilio.to(world.client_phone)[before:]]
    assert len(parts) == 3 and reassembled(parts, "({i}/{n}) ") == WORDS


def test_a_reply_twilio_refuses_tells_the_staff_member_to_call(client, world, session, twilio):
    contact = taken(client, world, session)
    twilio.fail_next = [httpx.Response(400, json={"code": 21610, "message": "blocked"})]
    text_in(client, world, world.case_manager.phone, "Are you safe?")
    assert twilio.to(world.case_manager.phone)[-1].body == (
        f"Not delivered to #{contact.id}: call them {world.client_phone}"
    )


def test_a_client_text_the_holder_never_got_goes_to_the_next_level(client, world, session, twilio):
    contact = taken(client, world, session)
    text_in(client, world, world.client_phone, "I took them")
    relay = twilio.to(world.case_manager.phone)[-1]
    assert relay.body == f"#{contact.id}: I took them"
    assert twilio.to(world.backup_cm.phone) == []
    response = post_signed(
        client,
        "/twilio/status",
        {"MessageSid": relay.sid, "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )
    assert response.status_code == 204
    contact = the_contact(session)
    assert contact.status == "open" and contact.level == 2
    [note] = twilio.to(world.backup_cm.phone)
    assert "I took them" in note.body


def test_a_long_reply_refused_part_by_part_tells_the_staff_member_once(
    client, world, session, twilio
):
    contact = taken(client, world, session)
    before = len(twilio.to(world.case_manager.phone))
    blocked = httpx.Response(400, json={"code": 21610, "message": "blocked"})
    twilio.fail_next = [blocked, blocked, blocked]
    text_in(client, world, world.case_manager.phone, WORDS)  # three parts, each refused
    assert twilio.fail_next == []
    told = [m.body for m in twilio.to(world.case_manager.phone)[before:]]
    assert told == [f"Not delivered to #{contact.id}: call them {world.client_phone}"]


def test_a_long_client_text_undelivered_part_by_part_moves_on_one_level(
    client, world, session, twilio
):
    contact = taken(client, world, session)
    before = len(twilio.to(world.case_manager.phone))
    text_in(client, world, world.client_phone, WORDS)
    parts = twilio.to(world.case_manager.phone)[before:]
    assert len(parts) == 3
    for part in parts:
        response = post_signed(
            client,
            "/twilio/status",
            {"MessageSid": part.sid, "MessageStatus": "undelivered", "ErrorCode": "30003"},
        )
        assert response.status_code == 204
    contact = the_contact(session)
    assert contact.status == "open" and contact.level == 2
    to_backup = [m.body for m in twilio.to(world.backup_cm.phone)]
    # Paged once, not once per part; the words the page could not carry follow it.
    assert sum(body.startswith(("CRISIS", "URGENT")) for body in to_backup) == 1
