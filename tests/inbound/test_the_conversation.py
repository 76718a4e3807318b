"""The crisis conversation end to end, as a client and a case manager live
it: signed webhooks in, Twilio's REST API stand-in out, the clock injected."""

from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import Contact
from app.messaging.outbox import is_opted_out
from tests.world import text_in


def test_every_word_reaches_a_human_in_the_conversation(client, world, session, twilio, clock):
    cm, sam = world.case_manager.phone, world.client_phone

    text_in(client, world, sam, "I am scared, can someone talk to me")
    contact = session.execute(select(Contact)).scalar_one()
    [note] = twilio.to(cm)
    assert f"#{contact.id}" in note.body
    assert note.body.endswith('Said: "I am scared, can someone talk to me"')

    clock.advance(seconds=30)
    text_in(client, world, sam, "please answer")
    assert twilio.to(cm)[-1].body == f"#{contact.id}: please answer"

    text_in(client, world, cm, "ACK")
    assert twilio.to(cm)[-1].body.startswith(f"#{contact.id} is yours")
    text_in(client, world, cm, "Do you have the pills with you?")
    assert twilio.to(sam)[-1].body == "Do you have the pills with you?"

    text_in(client, world, sam, "Yes")
    assert twilio.to(cm)[-1].body == f"#{contact.id}: Yes"
    assert not is_opted_out(session=session, team_id=world.team.id, number=sam)

    text_in(client, world, cm, "Yes")
    assert twilio.to(sam)[-1].body == "Yes"

    text_in(client, world, sam, "STOP")
    assert twilio.to(cm)[-1].body == (
        f'#{contact.id} texted "STOP": texts to them are now blocked by the carrier. '
        f"Call them: {sam}"
    )

    long_text = " ".join(f"part-of-my-story-{i:03d}" for i in range(160))  # 3,359 characters
    before = len(twilio.to(cm))
    text_in(client, world, sam, long_text)
    parts = [m.body for m in twilio.to(cm)[before:]]
    assert [p.split(":", 1)[0] for p in parts] == [f"#{contact.id} ({i}/3)" for i in (1, 2, 3)]
    assert " ".join(p.split(": ", 1)[1] for p in parts) == long_text
    assert all(len(p) <= 1600 for p in parts)
