"""Repeats change nothing and get the same TwiML; signatures (query string
included) are checked before anything changes; an unknown line is 404; a
database outage is a fast 503; SMS opt-out never touches the voice path."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.contacts.models import Contact, ContactEvent
from app.db import Database, make_engine
from app.main import create_app
from app.messaging.models import OutboundMessage
from app.messaging.outbox import is_opted_out
from tests.conftest import PUBLIC_BASE_URL, make_settings
from tests.inbound.test_voice_dial_chain import events, the_contact
from tests.inbound.voice_calls import (
    answer,
    call_in,
    dial_ended,
    numbers,
    path_of,
    press,
    the_dial,
    twiml,
)
from tests.twilio_signing import post_signed, signature
from tests.world import text_in


def count(session, model) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_every_repeated_callback_changes_nothing_and_answers_the_same(
    client, world, session, twilio
):
    first = call_in(client, world, world.client_phone, "CAdup")
    before = count(session, ContactEvent)
    again = call_in(client, world, world.client_phone, "CAdup")
    assert again.text == first.text
    assert count(session, Contact) == 1 and count(session, ContactEvent) == before

    root = twiml(first)
    nxt = dial_ended(client, root, "CAdup", "no-answer")
    before = count(session, ContactEvent)
    assert dial_ended(client, root, "CAdup", "no-answer").text == nxt.text
    assert count(session, ContactEvent) == before
    assert the_contact(session).level == 2

    root = twiml(nxt)
    leg, screen = answer(client, root, world.backup_cm.phone, "CAdup")
    _, screen_again = answer(client, root, world.backup_cm.phone, "CAdup", leg_sid=leg)
    assert screen_again.text == screen.text
    accepted = press(client, twiml(screen), leg, "CAdup", "1")
    before = count(session, ContactEvent)
    assert press(client, twiml(screen), leg, "CAdup", "1").text == accepted.text
    assert count(session, ContactEvent) == before
    contact = the_contact(session)
    assert contact.acknowledged_by == world.backup_cm.id
    assert len(events(session, contact.id, "acknowledged")) == 1
    assert twilio.sent == []


def test_repeated_decline_status_and_recording_change_nothing(client, world, session, twilio):
    from tests.conftest import TWILIO_SID
    from tests.inbound.voice_calls import call_status

    world.team.voicemail_enabled = True
    session.add(world.team)
    session.commit()
    root = twiml(call_in(client, world, world.client_phone, "CAdup2"))
    leg, screen = answer(client, root, world.case_manager.phone, "CAdup2")
    first = press(client, twiml(screen), leg, "CAdup2", "9")
    before = count(session, ContactEvent)
    assert press(client, twiml(screen), leg, "CAdup2", "9").text == first.text
    assert count(session, ContactEvent) == before
    for _ in range(4):
        root = twiml(dial_ended(client, root, "CAdup2", "no-answer"))
    [record] = root.findall("Record")
    params = {
        "CallSid": "CAdup2",
        "AccountSid": TWILIO_SID,
        "RecordingSid": "REdup",
        "RecordingUrl": "https://api.twilio.com/r/REdup",
        "RecordingStatus": "completed",
    }
    post_signed(client, path_of(record.get("recordingStatusCallback")), params)
    call_status(client, "CAdup2", "completed")
    events_before, sent_before = count(session, ContactEvent), len(twilio.sent)
    messages_before = count(session, OutboundMessage)
    post_signed(client, path_of(record.get("recordingStatusCallback")), params)
    call_status(client, "CAdup2", "completed")
    call_status(client, "CAdup2", "no-answer")
    assert count(session, ContactEvent) == events_before
    assert len(twilio.sent) == sent_before and count(session, OutboundMessage) == messages_before
    contact = the_contact(session)
    assert len(events(session, contact.id, "voicemail")) == 1
    assert len(events(session, contact.id, "caller_hung_up")) == 1


def test_bad_signature_is_403_and_changes_nothing(client, world, session, twilio):
    params = {"CallSid": "CAbad", "From": world.client_phone, "To": world.team.crisis_line_number}
    assert client.post("/twilio/voice", data=params).status_code == 403
    wrong = signature("/twilio/voice", params, token="not-the-token")
    assert (
        client.post("/twilio/voice", data=params, headers={"X-Twilio-Signature": wrong}).status_code
        == 403
    )
    assert count(session, Contact) == 0 and count(session, ContactEvent) == 0

    root = twiml(call_in(client, world, world.client_phone, "CAsig"))
    action = path_of(the_dial(root).get("action"))
    before = count(session, ContactEvent)
    params = {"CallSid": "CAsig", "DialCallStatus": "no-answer", "CallStatus": "in-progress"}
    # Signed for level 1, posted with the query string changed: the query is signed too.
    good = signature(action, params)
    tampered = action.replace("level=1", "level=4")
    assert (
        client.post(tampered, data=params, headers={"X-Twilio-Signature": good}).status_code == 403
    )
    leg_url = path_of(the_dial(root).find("Number").get("url"))
    accept = {"CallSid": "CAlegX", "Digits": "1"}
    forged = leg_url.replace("screen?", "screen-result?")
    assert client.post(forged, data=accept).status_code == 403
    assert count(session, ContactEvent) == before
    assert the_contact(session).status == "open"


def test_unknown_line_is_404(client, world, session):
    r = call_in(client, world, world.client_phone, "CAnowhere", to="+19735550177")
    assert r.status_code == 404
    assert count(session, Contact) == 0


def test_database_outage_is_503():
    dead = Database(make_engine("postgresql://nobody@127.0.0.1:1/none"))
    app = create_app(make_settings(), db=dead, run_worker=False, configure_logs=False)
    with TestClient(app, base_url=PUBLIC_BASE_URL) as c:
        r = post_signed(
            c, "/twilio/voice", {"CallSid": "CAdb", "From": "+12015550150", "To": "+19735550100"}
        )
        assert r.status_code == 503
        r = post_signed(
            c,
            "/twilio/voice/dial-result?contact=1&level=1",
            {"CallSid": "CAdb", "DialCallStatus": "no-answer"},
        )
        assert r.status_code == 503


def test_client_who_opted_out_of_sms_still_gets_the_whole_voice_path(
    client, world, session, twilio
):
    text_in(client, world, world.client_phone, "STOP")
    assert is_opted_out(session=session, team_id=world.team.id, number=world.client_phone)
    root = twiml(call_in(client, world, world.client_phone, "CAoptout"))
    assert numbers(root) == [world.case_manager.phone]
    root = twiml(dial_ended(client, root, "CAoptout", "no-answer"))
    leg, screen = answer(client, root, world.backup_cm.phone, "CAoptout")
    assert list(twiml(press(client, twiml(screen), leg, "CAoptout", "1"))) == []
    contact = the_contact(session)
    assert contact.status == "acknowledged" and contact.acknowledged_by == world.backup_cm.id
    assert twilio.to(world.client_phone) == []
