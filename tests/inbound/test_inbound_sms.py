"""A text to the crisis line, end to end through the HTTP app: signed webhook
in, contact recorded, auto-reply and staff notification out through Twilio's
REST API (respx), escalation driven by an injected clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.contacts.models import Contact, ContactEvent
from app.messaging.texts import sms_length
from tests.conftest import PUBLIC_BASE_URL, auth
from tests.twilio_signing import signature
from tests.world import text_in, the_contact, tick


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_bad_signature_is_403_and_changes_nothing(client, world, session, twilio):
    params = {
        "MessageSid": "SMbad",
        "From": world.client_phone,
        "To": world.team.crisis_line_number,
        "Body": "help",
    }
    assert client.post("/twilio/sms", data=params).status_code == 403
    wrong = signature("/twilio/sms", params, token="not-the-token")
    assert (
        client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": wrong}).status_code
        == 403
    )
    altered = dict(params, Body="altered")
    good_for_original = signature("/twilio/sms", params)
    assert (
        client.post(
            "/twilio/sms", data=altered, headers={"X-Twilio-Signature": good_for_original}
        ).status_code
        == 403
    )
    assert count(session, Contact) == 0 and count(session, ContactEvent) == 0
    assert twilio.sent == []


def test_unknown_crisis_line_is_404(client, world, session):
    r = text_in(client, "+19735550177", world.client_phone, "hello")
    assert r.status_code == 404
    assert count(session, Contact) == 0


def test_client_text_opens_contact_auto_replies_and_notifies_assigned_case_manager(
    client, world, session, twilio
):
    r = text_in(client, world, world.client_phone, "I am not doing well tonight")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xml")
    assert "<Response" in r.text and "<Message" not in r.text

    contact = the_contact(session)
    assert contact.client_id == world.client_row.id and contact.channel == "sms"
    assert contact.status == "open" and contact.level == 1
    assert contact.next_escalation_at is not None

    # Auto-reply to the sender, from the crisis line, mentioning 911 and 988.
    [reply] = twilio.to(world.client_phone)
    assert reply.from_ == world.team.crisis_line_number
    assert "911" in reply.body and "988" in reply.body
    assert reply.status_callback == f"{PUBLIC_BASE_URL}/twilio/status"

    # Level 1: the assigned case manager (in office hours), with the client's words.
    [note] = twilio.to(world.case_manager.phone)
    assert note.from_ == world.team.crisis_line_number
    assert f"#{contact.id}" in note.body and "Sam" in note.body and world.client_phone in note.body
    assert f"{PUBLIC_BASE_URL}/plan/" in note.body
    assert note.body.endswith('Said: "I am not doing well tonight"')
    assert sms_length(note.body)[0] <= 306
    assert twilio.to(world.backup_cm.phone) == [] and twilio.to(world.oncall.phone) == []
    kinds = [
        e.kind
        for e in session.execute(
            select(ContactEvent).where(ContactEvent.contact_id == contact.id)
        ).scalars()
    ]
    assert kinds[:1] == ["received"] and "auto_reply_sent" in kinds and "notified" in kinds


def test_twilio_retry_with_same_message_sid_changes_nothing(client, world, session, twilio):
    assert text_in(client, world, world.client_phone, "hello", sid="SMdup").status_code == 200
    events, sent = count(session, ContactEvent), len(twilio.sent)
    assert text_in(client, world, world.client_phone, "hello", sid="SMdup").status_code == 200
    assert count(session, Contact) == 1
    assert count(session, ContactEvent) == events
    assert len(twilio.sent) == sent


def test_second_text_continues_the_open_contact(client, world, session, twilio):
    text_in(client, world, world.client_phone, "first")
    text_in(client, world, world.client_phone, "second")
    assert count(session, Contact) == 1
    contact = the_contact(session)
    received = (
        session.execute(
            select(ContactEvent).where(
                ContactEvent.contact_id == contact.id, ContactEvent.kind == "received"
            )
        )
        .scalars()
        .all()
    )
    assert [e.data["body"] for e in received] == ["first", "second"]
    assert len(twilio.to(world.client_phone)) == 1  # one auto-reply per contact


def test_escalates_level_by_level_to_fallback_when_nobody_acknowledges(
    client, app, world, session, twilio, clock
):
    text_in(client, world, world.client_phone, "please call me")
    contact = the_contact(session)
    levels = [lv["kind"] for lv in contact.plan]
    assert levels == ["assigned", "backup", "rota", "supervisors", "fallback"]

    clock.advance(seconds=299)
    assert tick(app) == 0
    assert twilio.to(world.backup_cm.phone) == []

    clock.advance(seconds=2)
    assert tick(app) == 1
    assert len(twilio.to(world.backup_cm.phone)) == 1
    assert tick(app) == 0  # not twice

    clock.advance(seconds=301)
    tick(app)
    assert len(twilio.to(world.oncall.phone)) == 1
    clock.advance(seconds=301)
    tick(app)
    assert len(twilio.to(world.supervisor.phone)) == 1
    clock.advance(seconds=301)
    tick(app)

    contact = the_contact(session)
    # It keeps calling: the supervisors hear again after the team's repeat.
    assert contact.status == "unanswered"
    assert contact.next_escalation_at == clock.now + timedelta(seconds=900)
    to_sender = twilio.to(world.client_phone)
    assert len(to_sender) == 2 and world.team.fallback_number in to_sender[-1].body
    assert any("UNANSWERED" in m.body for m in twilio.to(world.supervisor.phone))
    # Nobody was notified twice.
    notified = (
        session.execute(
            select(ContactEvent.staff_id).where(
                ContactEvent.contact_id == contact.id, ContactEvent.kind == "notified"
            )
        )
        .scalars()
        .all()
    )
    assert len(notified) == len(set(notified)) == 4


def test_staff_free_text_is_relayed_from_the_line_and_acknowledges(
    client, app, world, session, twilio, clock
):
    text_in(client, world, world.client_phone, "can someone talk")
    contact = the_contact(session)
    text_in(client, world, world.case_manager.phone, "Hi Sam, it's Casey. I'm here.")
    relayed = twilio.to(world.client_phone)[-1]
    assert relayed.body == "Hi Sam, it's Casey. I'm here."
    assert relayed.from_ == world.team.crisis_line_number
    assert world.case_manager.phone not in relayed.body
    contact = the_contact(session)
    assert contact.status == "acknowledged" and contact.acknowledged_by == world.case_manager.id
    assert contact.first_response_at is not None
    clock.advance(hours=2)
    assert tick(app) == 0
    assert twilio.to(world.backup_cm.phone) == []
    # The client's next text goes to the person who took it.
    text_in(client, world, world.client_phone, "thank you")
    assert twilio.to(world.case_manager.phone)[-1].body == f"#{contact.id}: thank you"


def test_ack_pass_done_commands(client, app, world, session, twilio, clock):
    text_in(client, world, world.client_phone, "hello")
    contact = the_contact(session)
    text_in(client, world, world.case_manager.phone, "PASS")
    assert len(twilio.to(world.backup_cm.phone)) == 1
    assert the_contact(session).level == 2
    text_in(client, world, world.backup_cm.phone, "ack")
    contact = the_contact(session)
    assert contact.status == "acknowledged" and contact.acknowledged_by == world.backup_cm.id
    assert len(twilio.to(world.client_phone)) == 1  # ACK relays nothing
    text_in(client, world, world.backup_cm.phone, "DONE")
    contact = the_contact(session)
    assert contact.status == "resolved" and contact.resolved_at is not None


def test_a_late_pass_from_an_earlier_level_does_not_cut_the_current_level_short(
    client, app, world, session, twilio, clock
):
    text_in(client, world, world.client_phone, "hello")
    clock.advance(seconds=301)
    tick(app)
    contact = the_contact(session)
    assert contact.level == 2 and len(twilio.to(world.backup_cm.phone)) == 1
    deadline = contact.next_escalation_at
    text_in(client, world, world.case_manager.phone, "PASS")  # level 1, too late
    contact = the_contact(session)
    assert contact.level == 2 and contact.next_escalation_at == deadline
    assert twilio.to(world.oncall.phone) == []
    assert "already moved on" in twilio.to(world.case_manager.phone)[-1].body
    # The backup, who holds level 2 now, can still pass it on.
    text_in(client, world, world.backup_cm.phone, "PASS")
    assert the_contact(session).level == 3 and len(twilio.to(world.oncall.phone)) == 1


def test_hash_id_addresses_one_of_several_and_refuses_other_teams(
    client, world, session, twilio, clock
):
    from tests.factories import make_staff

    text_in(client, world, world.client_phone, "one")
    first = the_contact(session)
    text_in(client, world, "+12015550160", "two")  # unknown caller: goes to the on-call
    second = the_contact(session)
    # Owen (on call) was notified of the second only; make him the target of both by PASSing the first along.
    text_in(client, world, world.case_manager.phone, f"#{first.id} PASS")
    text_in(client, world, world.backup_cm.phone, f"#{first.id} PASS")
    text_in(client, world, world.oncall.phone, "which one?")
    assert "Several open" in twilio.to(world.oncall.phone)[-1].body
    text_in(client, world, world.oncall.phone, f"#{second.id} Calling you now")
    assert twilio.to("+12015550160")[-1].body == "Calling you now"
    # Another team's contact is refused, and nothing is relayed.
    outsider = make_staff(session, world.other_team, phone="+12015550190")
    session.commit()
    before = len(twilio.sent)
    text_in(client, world.other_team.crisis_line_number, outsider.phone, f"#{first.id} hello")
    assert len(twilio.sent) == before + 1
    assert "No contact" in twilio.sent[-1].body and twilio.sent[-1].to == outsider.phone


def test_who_and_help(client, world, twilio):
    text_in(client, world, world.case_manager.phone, "WHO")
    assert "Owen Call" in twilio.to(world.case_manager.phone)[-1].body
    text_in(client, world, world.case_manager.phone, "HELP")
    assert "ACK" in twilio.to(world.case_manager.phone)[-1].body


def test_unrecognised_staff_text_gets_help_rate_limited(client, world, twilio, clock):
    text_in(client, world, world.case_manager.phone, "hello?")
    text_in(client, world, world.case_manager.phone, "hello??")
    assert len(twilio.to(world.case_manager.phone)) == 1
    clock.advance(minutes=11)
    text_in(client, world, world.case_manager.phone, "hello???")
    assert len(twilio.to(world.case_manager.phone)) == 2


def test_unknown_number_starts_at_the_rota(client, world, session, twilio):
    text_in(client, world, "+12015550161", "is anyone there")
    contact = the_contact(session)
    assert contact.client_id is None
    assert [lv["kind"] for lv in contact.plan][0] == "rota"
    assert "unknown caller" in twilio.to(world.oncall.phone)[0].body
    assert twilio.to(world.case_manager.phone) == []


def test_shared_number_routes_as_unknown_and_lists_candidates(client, world, session, twilio):
    from tests.factories import make_client

    second = make_client(
        session, world.team, preferred_name="Alex", phones=[(world.family_phone, "family")]
    )
    session.commit()
    text_in(client, world, world.family_phone, "my son needs help")
    contact = the_contact(session)
    assert contact.client_id is None
    assert sorted(contact.candidate_client_ids) == sorted([world.client_row.id, second.id])
    assert [lv["kind"] for lv in contact.plan][0] == "rota"


def test_priority_words_copy_supervisor_and_shorten_timeout(
    client, app, world, session, twilio, clock
):
    text_in(client, world, world.client_phone, "I want to kill myself")
    contact = the_contact(session)
    assert contact.priority == "high"
    assert len(twilio.to(world.supervisor.phone)) == 1  # copied at level 1
    assert (contact.next_escalation_at - clock.now).total_seconds() == 60
    clock.advance(seconds=61)
    assert tick(app) == 1
    assert len(twilio.to(world.backup_cm.phone)) == 1


def test_contact_api_shows_timeline_and_acknowledges(client, world, session, twilio):
    text_in(client, world, world.client_phone, "hello")
    contact = the_contact(session)
    r = client.get(f"/v1/contacts/{contact.id}", headers=auth(world.supervisor_key))
    assert r.status_code == 200
    body = r.json()
    assert (
        body["channel"] == "sms"
        and body["from_number"] == world.client_phone
        and body["client_id"] == world.client_row.id
    )
    assert body["events"][0]["kind"] == "received"
    listing = client.get(
        "/v1/contacts", params={"status": "open"}, headers=auth(world.supervisor_key)
    ).json()
    assert [c["id"] for c in listing["items"]] == [contact.id]
    r = client.post(
        f"/v1/contacts/{contact.id}/acknowledge",
        headers=auth(world.supervisor_key),
        json={"staff_id": world.supervisor.id},
    )
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    assert r.json()["holder"] == {"id": world.supervisor.id, "name": "Sue Visor"}
    assert (
        client.post(
            f"/v1/contacts/{contact.id}/acknowledge",
            headers=auth(world.supervisor_key),
            json={"staff_id": world.supervisor.id},
        ).status_code
        == 409
    )
    from tests.factories import make_key

    other_key = make_key(session, "supervisor", world.other_team)
    session.commit()
    assert client.get(f"/v1/contacts/{contact.id}", headers=auth(other_key)).status_code == 404
    assert (
        client.get(
            "/v1/contacts", params={"status": "bogus"}, headers=auth(world.supervisor_key)
        ).status_code
        == 422
    )
