"""Input no Twilio webhook should choke on: a multipart body or a file is
refused before parsing, NUL is stripped, an impossible value is a 400 naming
the field; never a 5xx, and nothing half-written."""

from __future__ import annotations

from sqlalchemy import func, select

from app.contacts.models import Contact, ContactEvent
from app.messaging.models import InboxMessage
from app.messaging.outbox import is_opted_out
from tests.twilio_signing import post_signed, signature
from tests.world import route_inbox, text_in

WEBHOOKS = ("/twilio/sms", "/twilio/status", "/twilio/voice", "/twilio/fallback")


def count(session, model) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def sms(world, **fields) -> dict:
    return {
        "MessageSid": "SM" + "a" * 32,
        "From": world.client_phone,
        "To": world.team.crisis_line_number,
        "Body": "hello",
        **fields,
    }


def test_a_multipart_body_or_a_file_is_refused_before_parsing(client, world, session, twilio):
    for path in WEBHOOKS:
        params = sms(world)
        headers = {"X-Twilio-Signature": signature(path, params)}
        as_multipart = client.post(
            path,
            data=params,
            files={"Media": ("a.bin", b"\x00" * 10, "image/png")},
            headers=headers,
        )
        assert as_multipart.status_code == 403, path
        no_file = client.post(
            path,
            content=b'--x\r\nContent-Disposition: form-data; name="Body"\r\n\r\nhi\r\n--x--\r\n',
            headers={**headers, "Content-Type": "multipart/form-data; boundary=x"},
        )
        assert no_file.status_code == 403, path
    assert count(session, InboxMessage) == 0 and count(session, Contact) == 0


def test_a_body_with_nul_is_stored_without_it_and_reaches_a_human(client, world, session, twilio):
    response = text_in(client, world, world.client_phone, "help\x00 me")
    assert response.status_code == 200
    session.expire_all()
    event = session.execute(
        select(ContactEvent).where(ContactEvent.kind == "received")
    ).scalar_one()
    assert event.data["body"] == "help me"
    assert len(twilio.to(world.case_manager.phone)) == 1


def test_a_value_twilio_never_sends_is_a_400_naming_it(client, world, session, twilio):
    for field in ("MessageSid", "From"):
        response = post_signed(client, "/twilio/sms", sms(world, **{field: "1" * 65}))
        assert response.status_code == 400, field
        assert response.json()["detail"][0]["loc"] == ["body", field]
    route_inbox(client.app)
    assert count(session, InboxMessage) == 0 and count(session, Contact) == 0
    # The longest a Twilio value may be is stored and routed.
    ok = post_signed(client, "/twilio/sms", sms(world, MessageSid="SM" + "b" * 62))
    assert ok.status_code == 200
    route_inbox(client.app)
    assert count(session, Contact) == 1


def test_a_long_but_accepted_sender_is_stored_and_reaches_a_human(client, world, session, twilio):
    """A From of 64 characters (not a phone number: a channel address) opens
    a contact, gets its automatic reply, and its STOP is kept: on PostgreSQL
    each of those rows once had 20 characters for it, and the text was
    never routed."""
    sender = "channel:" + "a1b2c3d4" * 7  # 64 characters
    assert len(sender) == 64
    assert text_in(client, world, sender, "is anyone there").status_code == 200
    session.expire_all()
    contact = session.execute(select(Contact)).scalar_one()
    assert contact.from_number == sender
    [reply] = twilio.to(sender)
    assert "911" in reply.body
    assert "is anyone there" in twilio.to(world.oncall.phone)[-1].body
    text_in(client, world, sender, "STOP")
    assert is_opted_out(session=session, team_id=world.team.id, number=sender)
    session.expire_all()
    [inbox_outcomes] = [{row for row in session.execute(select(InboxMessage.outcome)).scalars()}]
    assert "failed" not in inbox_outcomes and None not in inbox_outcomes
