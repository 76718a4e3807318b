"""The crisis conversation end to end, as a client and a case manager live
it: signed webhooks in, Twilio's REST API (and its media) stand-in out, the
clock injected; the notification's link read as the case manager's phone
would (the page, its live fragment, the photo through the service)."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.contacts.models import Contact
from app.messaging.outbox import is_opted_out
from tests.conftest import PUBLIC_BASE_URL
from tests.inbound.test_mms import PHOTO, media_url, mms_in
from tests.world import text_in


def test_every_word_reaches_a_human_in_the_conversation(client, world, session, twilio, clock):
    cm, sam = world.case_manager.phone, world.client_phone

    text_in(client, world, sam, "I am scared, can someone talk to me")
    contact = session.execute(select(Contact)).scalar_one()
    [note] = twilio.to(cm)
    assert f"#{contact.id}" in note.body
    assert note.body.endswith('Said: "I am scared, can someone talk to me"')
    link = re.search(re.escape(PUBLIC_BASE_URL) + r"(/plan/\S+?) ", note.body).group(1)
    page = client.get(link)
    assert page.status_code == 200 and "I am scared, can someone talk to me" in page.text

    clock.advance(seconds=30)
    text_in(client, world, sam, "please answer")
    assert twilio.to(cm)[-1].body == f"#{contact.id}: please answer"

    clock.advance(seconds=20)
    text_in(client, world, cm, "ACK")
    assert twilio.to(cm)[-1].body.startswith(f"#{contact.id} is yours")
    clock.advance(seconds=20)
    text_in(client, world, cm, "Do you have the pills with you?")
    assert twilio.to(sam)[-1].body == "Do you have the pills with you?"

    clock.advance(seconds=20)
    text_in(client, world, sam, "Yes")
    assert twilio.to(cm)[-1].body == f"#{contact.id}: Yes"
    assert not is_opted_out(session=session, team_id=world.team.id, number=sam)

    clock.advance(seconds=20)
    text_in(client, world, cm, "Yes")
    assert twilio.to(sam)[-1].body == "Yes"

    clock.advance(seconds=20)
    text_in(client, world, sam, "STOP")
    assert twilio.to(cm)[-1].body == (
        f'#{contact.id} texted "STOP": texts to them are now blocked by the carrier. '
        f"Call them: {sam}"
    )

    long_text = " ".join(f"part-of-my-story-{i:03d}" for i in range(160))  # 3,359 characters
    before = len(twilio.to(cm))
    clock.advance(seconds=20)
    text_in(client, world, sam, long_text)
    parts = [m.body for m in twilio.to(cm)[before:]]
    assert [p.split(":", 1)[0] for p in parts] == [f"#{contact.id} ({i}/3)" for i in (1, 2, 3)]
    assert " ".join(p.split(": ", 1)[1] for p in parts) == long_text
    assert all(len(p) <= 1600 for p in parts)

    clock.advance(seconds=20)
    mms_in(client, world, sam, "", [(media_url(12), "image/jpeg")])
    notice = twilio.to(cm)[-1].body
    assert notice.startswith(f"#{contact.id} sent a photo: {PUBLIC_BASE_URL}/plan/")
    twilio.mock.get(media_url(12)).respond(
        200, content=PHOTO, headers={"content-type": "image/jpeg"}
    )
    page = client.get(notice.split(PUBLIC_BASE_URL, 1)[1])
    # The whole conversation on one page, in order, with who holds it.
    said = [
        "I am scared, can someone talk to me",
        "please answer",
        "Do you have the pills with you?",
        "STOP",
        "part-of-my-story-000",
        "Open the photo",
    ]
    positions = [page.text.index(words) for words in said]
    assert positions == sorted(positions)
    assert "Wed 18 Nov 14:02" in page.text  # the photo, in the team's time
    assert "held by Casey Manager" in page.text
    photo = re.search(r'href="(/plan/[^"]+/media/\d+/0)"', page.text).group(1)
    shown = client.get(photo)
    assert shown.status_code == 200 and shown.content == PHOTO
