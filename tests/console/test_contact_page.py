"""The contact page: the conversation, timeline and plan (audited reads),
and taking, noting and resolving through the same functions as the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.auth.models import AuditLog
from app.clients.models import CrisisPlan
from app.contacts.models import Contact, ContactEvent
from tests.console.conftest import csrf_of, sign_in, text_in
from tests.factories import make_contact


def _open_contact(client, world, session, body="I need to talk to someone") -> Contact:
    text_in(client, world, world.client_phone, body)
    session.expire_all()
    return session.execute(select(Contact).order_by(Contact.id.desc())).scalars().first()


def _page_as(client, db, world, session, person) -> tuple[Contact, Any]:
    """A contact the client's text opened, and its page as `person` sees it."""
    contact = _open_contact(client, world, session)
    sign_in(client, db, person)
    return contact, client.get(f"/console/contacts/{contact.id}")


def _audit(session, action):
    return session.execute(select(AuditLog).where(AuditLog.action == action)).scalars().all()


def test_the_page_shows_the_conversation_timeline_and_plan_and_audits_the_reads(
    client, db, world, session
):
    session.add(
        CrisisPlan(
            client_id=world.client_row.id,
            version=1,
            sections={"warning_signs": ["stops eating"], "reasons_for_living": ["her cat"]},
        )
    )
    session.commit()
    contact, page = _page_as(client, db, world, session, world.supervisor)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html = page.text
    assert "I need to talk to someone" in html  # the caller's words
    assert "We got your message" in html  # the auto-reply, in the conversation
    assert "Casey Manager paged" in html  # the timeline, with names
    assert "stops eating" in html and "her cat" in html
    session.expire_all()
    [plan_read] = _audit(session, "crisis_plan.read")
    assert (
        plan_read.detail["via"] == "console" and plan_read.actor == f"staff:{world.supervisor.id}"
    )
    assert len(_audit(session, "contact.read")) == 1


def test_another_teams_contact_and_a_case_managers_stranger_are_not_found(
    client, db, world, session, clock
):
    theirs = make_contact(session, world.other_team, created_at=clock.now)
    stranger = make_contact(session, world.team, created_at=clock.now)
    session.commit()
    sign_in(client, db, world.supervisor)
    response = client.get(f"/console/contacts/{theirs.id}")
    assert response.status_code == 404 and "<h1>Not found</h1>" in response.text
    assert client.get(f"/console/contacts/{stranger.id}").status_code == 200
    client.cookies.clear()
    sign_in(client, db, world.case_manager)
    assert client.get(f"/console/contacts/{stranger.id}").status_code == 404


def test_taking_a_contact_from_the_page_stops_escalation_and_names_the_holder(
    client, db, world, session
):
    contact, page = _page_as(client, db, world, session, world.case_manager)
    response = client.post(
        f"/console/contacts/{contact.id}/acknowledge", data={"csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 200 and "You have taken this contact" in response.text
    session.expire_all()
    contact = session.get(Contact, contact.id)
    assert contact.status == "acknowledged" and contact.acknowledged_by == world.case_manager.id
    assert contact.next_escalation_at is None
    event = session.execute(
        select(ContactEvent).where(
            ContactEvent.contact_id == contact.id, ContactEvent.kind == "acknowledged"
        )
    ).scalar_one()
    assert event.data["via"] == "console"
    # taking it again is a conflict, shown on the page, and changes nothing
    again = client.post(
        f"/console/contacts/{contact.id}/acknowledge", data={"csrf_token": csrf_of(page.text)}
    )
    assert again.status_code == 409 and "only open or unanswered" in again.text


def test_the_outcome_form_names_the_missing_fields_and_changes_nothing(client, db, world, session):
    contact, page = _page_as(client, db, world, session, world.supervisor)
    response = client.post(
        f"/console/contacts/{contact.id}/resolve",
        data={"csrf_token": csrf_of(page.text), "outcome": "not-an-outcome", "notes": "kept"},
    )
    assert response.status_code == 422
    assert 'id="outcome-error"' in response.text and 'id="risk_level-error"' in response.text
    assert ">kept</textarea>" in response.text  # what was typed stays
    session.expire_all()
    assert session.get(Contact, contact.id).status == "open"


def test_resolving_through_the_page_records_the_outcome_like_the_api(client, db, world, session):
    contact, page = _page_as(client, db, world, session, world.case_manager)
    refused = client.post(
        f"/console/contacts/{contact.id}/resolve",
        data={
            "csrf_token": csrf_of(page.text),
            "outcome": "resolved_by_phone",
            "risk_level": "low",
            "emergency_confirmed": "yes",  # without dispatch: the service's own rule
        },
    )
    assert refused.status_code == 422 and 'id="emergency_confirmed-error"' in refused.text
    response = client.post(
        f"/console/contacts/{contact.id}/resolve",
        data={
            "csrf_token": csrf_of(page.text),
            "outcome": "resolved_by_phone",
            "risk_level": "moderate",
            "referrals": "peer support\nhousing",
            "notes": "talked it through",
        },
    )
    assert response.status_code == 200 and "Contact resolved." in response.text
    session.expire_all()
    contact = session.get(Contact, contact.id)
    assert (contact.status, contact.outcome, contact.risk_level) == (
        "resolved",
        "resolved_by_phone",
        "moderate",
    )
    assert contact.referrals == ["peer support", "housing"]
    assert contact.resolution_notes == "talked it through"
    assert len(_audit(session, "contact.resolve")) == 1


def test_a_note_lands_on_the_timeline_and_an_empty_one_is_refused(client, db, world, session):
    contact, page = _page_as(client, db, world, session, world.supervisor)
    empty = client.post(
        f"/console/contacts/{contact.id}/notes",
        data={"csrf_token": csrf_of(page.text), "text": " "},
    )
    assert empty.status_code == 422 and 'id="text-error"' in empty.text
    response = client.post(
        f"/console/contacts/{contact.id}/notes",
        data={"csrf_token": csrf_of(page.text), "text": "Mother says she is safe tonight"},
    )
    assert response.status_code == 200 and "Sue Visor added a note" in response.text
    assert "Mother says she is safe tonight" in response.text


def test_an_action_without_the_csrf_token_changes_nothing(client, db, world, session):
    contact = _open_contact(client, world, session)
    sign_in(client, db, world.case_manager)
    response = client.post(f"/console/contacts/{contact.id}/acknowledge")
    assert response.status_code == 403
    session.expire_all()
    assert session.get(Contact, contact.id).status == "open"


def _reply_key(html: str) -> str:
    import re

    return re.search(r'name="reply_key" value="([^"]+)"', html).group(1)


def test_a_reply_is_relayed_from_the_line_like_an_sms_reply_and_sent_once(
    client, db, world, session
):
    from app.messaging.models import OutboundMessage

    contact, page = _page_as(client, db, world, session, world.case_manager)
    form = {
        "csrf_token": csrf_of(page.text),
        "reply_key": _reply_key(page.text),
        "message": "I'm here. Are you safe right now?",
    }
    response = client.post(f"/console/contacts/{contact.id}/reply", data=form)
    assert response.status_code == 200 and "queued from the crisis line" in response.text
    assert "Are you safe right now?" in response.text  # in the conversation
    again = client.post(f"/console/contacts/{contact.id}/reply", data=form)  # sent twice
    assert "already sent" in again.text
    session.expire_all()
    relays = (
        session.execute(select(OutboundMessage).where(OutboundMessage.purpose == "relay"))
        .scalars()
        .all()
    )
    assert [(m.to_number, m.from_number, m.body) for m in relays] == [
        (world.client_phone, world.team.crisis_line_number, "I'm here. Are you safe right now?")
    ]
    contact = session.get(Contact, contact.id)
    # a reply takes the contact, as an SMS reply does
    assert contact.status == "acknowledged" and contact.acknowledged_by == world.case_manager.id
    kinds = [
        e.kind
        for e in session.execute(
            select(ContactEvent).where(ContactEvent.contact_id == contact.id)
        ).scalars()
    ]
    assert kinds.count("staff_reply") == 1 and kinds.count("relayed") == 1


def test_an_empty_reply_is_named_and_nothing_is_sent(client, db, world, session):
    from app.messaging.models import OutboundMessage

    contact, page = _page_as(client, db, world, session, world.case_manager)
    response = client.post(
        f"/console/contacts/{contact.id}/reply",
        data={"csrf_token": csrf_of(page.text), "reply_key": _reply_key(page.text), "message": " "},
    )
    assert response.status_code == 422 and 'id="message-error"' in response.text
    session.expire_all()
    assert not session.execute(
        select(OutboundMessage).where(OutboundMessage.purpose == "relay")
    ).first()


def test_passing_from_the_page_pages_the_next_level_now(client, db, world, session):
    contact = _open_contact(client, world, session)
    assert contact.level == 1
    sign_in(client, db, world.case_manager)
    page = client.get(f"/console/contacts/{contact.id}")
    response = client.post(
        f"/console/contacts/{contact.id}/pass",
        data={"csrf_token": csrf_of(page.text), "reply_key": _reply_key(page.text)},
    )
    assert response.status_code == 200 and "next level is being paged" in response.text
    session.expire_all()
    contact = session.get(Contact, contact.id)
    assert contact.level == 2 and contact.status == "open"
    assert "Casey Manager passed" in response.text


def test_the_page_says_the_contacts_language_before_anyone_answers(client, db, world, session):
    contact = _open_contact(client, world, session, body="necesito ayuda, no puedo más")
    sign_in(client, db, world.supervisor)
    html = client.get(f"/console/contacts/{contact.id}").text
    assert '<dt>Language</dt><dd class="language">ES</dd>' in html
    assert "Recibimos su mensaje" in html  # the Spanish auto-reply, in the conversation
