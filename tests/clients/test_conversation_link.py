"""The page behind a staff notification's link: the whole conversation, its
status and holder, the crisis plan; the plan link's token rules; every view
audited. Signed webhooks in, Twilio's REST API stand-in out, the clock injected."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.auth.models import AuditLog
from app.clients.models import CrisisPlan
from app.contacts.models import Contact
from tests.conftest import PUBLIC_BASE_URL, auth
from tests.twilio_signing import post_signed
from tests.world import text_in

LINK = re.compile(re.escape(PUBLIC_BASE_URL) + r"(/plan/[A-Za-z0-9_-]+)")


def _path(body: str) -> str:
    match = LINK.search(body)
    assert match, f"no link in {body!r}"
    return match.group(1)


def _reads(session, action: str) -> list[AuditLog]:
    session.expire_all()
    return list(
        session.execute(
            select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        ).scalars()
    )


def _opened(client, world, session, twilio, body="I am scared, can someone talk to me"):
    session.add(
        CrisisPlan(client_id=world.client_row.id, version=1, sections={"warning_signs": ["pacing"]})
    )
    session.commit()
    text_in(client, world, world.client_phone, body)
    contact = session.execute(select(Contact)).scalar_one()
    [note] = twilio.to(world.case_manager.phone)
    return contact, _path(note.body)


def test_the_notification_link_opens_the_conversation_and_the_plan(
    client, world, session, twilio, clock
):
    contact, path = _opened(client, world, session, twilio)
    clock.advance(minutes=1)
    text_in(client, world, world.client_phone, "please answer")
    text_in(client, world, world.case_manager.phone, "ACK")
    text_in(client, world, world.case_manager.phone, "I'm here. Are you safe right now?")
    relay = twilio.to(world.client_phone)[-1]
    post_signed(client, "/twilio/status", {"MessageSid": relay.sid, "MessageStatus": "delivered"})

    page = client.get(path)

    assert page.status_code == 200
    text = page.text
    # Every message in order: the client's two texts, the automatic reply, the reply.
    order = [
        text.index("I am scared, can someone talk to me"),
        text.index("please answer"),
        text.index("I&#39;m here. Are you safe right now?"),
    ]
    assert order == sorted(order)
    assert "automatic reply to Sam" in text
    assert "From Sam" in text  # who sent it
    assert "Casey Manager to Sam" in text and "delivered" in text  # who, and its status
    # Times in the team's zone (America/New_York: 19:00 UTC is 14:00).
    assert "Wed 18 Nov 14:00" in text and "Wed 18 Nov 14:01" in text
    assert "answered, held by Casey Manager" in text
    assert "pacing" in text and text.index("pacing") > text.index("please answer")


def test_the_page_headers_forbid_caching_referrers_and_inline_scripts(
    client, world, session, twilio
):
    contact, path = _opened(client, world, session, twilio)
    for response in (client.get(path), client.get(path + "/conversation")):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "<script>" not in response.text and "style=" not in response.text


def test_every_open_is_audited_and_a_poll_only_when_it_shows_something_new(
    client, world, session, twilio, clock
):
    contact, path = _opened(client, world, session, twilio)
    client.get(path)
    [read] = _reads(session, "contact.read")
    [plan_read] = _reads(session, "crisis_plan.read")
    assert read.actor == plan_read.actor and read.actor.startswith("plan-link:")
    assert read.record_id == contact.id
    assert read.detail == {"via": "plan_link", "messages": 2, "poll": False}
    assert plan_read.detail["via"] == "plan_link"

    # The page polls with how many messages it shows: nothing new, no new row.
    assert client.get(path + "/conversation?shown=2").status_code == 200
    assert len(_reads(session, "contact.read")) == 1

    clock.advance(seconds=20)
    text_in(client, world, world.client_phone, "are you there")
    poll = client.get(path + "/conversation?shown=2")
    assert "are you there" in poll.text
    assert 'shown=3"' in poll.text  # the next poll says it has shown three
    reads = _reads(session, "contact.read")
    assert [r.detail for r in reads[1:]] == [{"via": "plan_link", "messages": 3, "poll": True}]


def test_a_dead_or_wrong_link_shows_nothing(client, world, session, twilio, clock):
    contact, path = _opened(client, world, session, twilio, body="my secret words")
    assert client.get(path).status_code == 200

    wrong = path[:-4] + ("aaaa" if not path.endswith("aaaa") else "bbbb")
    for dead in (wrong, "/plan/x"):
        for suffix in ("", "/conversation"):
            response = client.get(dead + suffix)
            assert response.status_code == 404
            assert "my secret words" not in response.text and "Sam" not in response.text
            assert response.headers["cache-control"] == "no-store"

    clock.advance(hours=12, seconds=1)  # PLAN_LINK_HOURS
    for suffix in ("", "/conversation"):
        expired = client.get(path + suffix)
        assert expired.status_code == 404 and "my secret words" not in expired.text

    clock.advance(hours=-12)
    assert client.get(path).status_code == 200
    revoked = client.post(
        f"/v1/clients/{world.client_row.id}/plan-links/revoke", headers=auth(world.supervisor_key)
    )
    assert revoked.status_code == 204
    for suffix in ("", "/conversation"):
        gone = client.get(path + suffix)
        assert gone.status_code == 404 and "my secret words" not in gone.text
    # Dead links are not views: only the two opens above were audited.
    assert len(_reads(session, "contact.read")) == 2


def test_a_script_in_a_text_is_shown_as_text(client, world, session, twilio):
    contact, path = _opened(client, world, session, twilio, body="<script>alert(1)</script> hi")
    for response in (client.get(path), client.get(path + "/conversation")):
        assert "<script>alert(1)</script>" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; hi" in response.text


def test_a_family_members_texts_are_named_as_theirs(client, world, session, twilio, clock):
    text_in(client, world, world.family_phone, "My son is not answering his phone")
    [note] = twilio.to(world.case_manager.phone)
    page = client.get(_path(note.body))
    assert "family of Sam" in page.text and "My son is not answering" in page.text


def test_the_page_says_the_conversations_language(client, world, session, twilio):
    """The on-call worker knows before answering that the client writes in Spanish."""
    contact, path = _opened(client, world, session, twilio)
    assert re.search(r"<dt>Language</dt><dd[^>]*>EN</dd>", client.get(path).text)

    contact.language = "es"
    session.add(contact)
    session.commit()

    assert re.search(r"<dt>Language</dt><dd[^>]*>ES</dd>", client.get(path).text)
