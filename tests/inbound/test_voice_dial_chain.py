"""A call to the crisis line, followed through Twilio's callbacks: greeting,
screened dial of each level in plan order, acceptance only by pressing 1,
and the external fallback (unscreened) at the end."""

from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import Contact, ContactEvent
from tests.conftest import PUBLIC_BASE_URL
from tests.inbound.voice_calls import (
    answer,
    call_in,
    call_status,
    dial_ended,
    numbers,
    press,
    the_dial,
    twiml,
)


def the_contact(session) -> Contact:
    session.expire_all()
    return session.execute(select(Contact).order_by(Contact.id.desc())).scalars().first()


def kinds(session, contact_id: int) -> list[str]:
    return [
        e.kind
        for e in session.execute(
            select(ContactEvent)
            .where(ContactEvent.contact_id == contact_id)
            .order_by(ContactEvent.id)
        ).scalars()
    ]


def events(session, contact_id: int, kind: str) -> list[ContactEvent]:
    return list(
        session.execute(
            select(ContactEvent)
            .where(ContactEvent.contact_id == contact_id, ContactEvent.kind == kind)
            .order_by(ContactEvent.id)
        ).scalars()
    )


def test_call_is_greeted_and_dials_level_1_screened(client, world, session, twilio):
    root = twiml(call_in(client, world, world.client_phone, "CAcore1"))
    contact = the_contact(session)
    assert contact.channel == "voice" and contact.client_id == world.client_row.id
    assert contact.status == "open" and contact.level == 1
    # The call drives the chain itself: no SMS while it is live.
    assert contact.next_escalation_at is None and twilio.sent == []

    [say] = root.findall("Say")
    assert say.text == world.team.voice_greeting
    assert [child.tag for child in root] == ["Say", "Dial"]
    dial = the_dial(root)
    assert dial.get("answerOnBridge") == "true"
    assert dial.get("timeout") == str(world.team.dial_timeout_seconds)
    assert (
        dial.get("action")
        == f"{PUBLIC_BASE_URL}/twilio/voice/dial-result?contact={contact.id}&level=1"
    )
    [number] = dial.findall("Number")
    assert (
        number.text == world.case_manager.phone
    )  # level 1: the assigned case manager, in office hours
    assert number.get("url") == (
        f"{PUBLIC_BASE_URL}/twilio/voice/screen?contact={contact.id}&level=1"
        f"&staff={world.case_manager.id}"
    )
    assert kinds(session, contact.id)[:3] == ["call_received", "planned", "dialled"]
    [dialled] = events(session, contact.id, "dialled")
    assert dialled.idempotency_key == f"CAcore1:dial:1:{world.case_manager.id}"
    assert dialled.staff_id == world.case_manager.id and dialled.level == 1


def test_accepted_at_level_1(client, world, session, twilio):
    root = twiml(call_in(client, world, world.client_phone, "CAacc1"))
    leg, screen = answer(client, root, world.case_manager.phone, "CAacc1")
    screen_root = twiml(screen)
    [gather] = screen_root.findall("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("timeout") == "8"
    prompt = gather.find("Say").text
    assert prompt == "Crisis call for Sam. Press 1 to accept."
    assert world.client_phone not in prompt
    contact = the_contact(session)
    assert contact.status == "open"  # picking up is not accepting

    accepted = twiml(press(client, screen_root, leg, "CAacc1", "1"))
    assert list(accepted) == []  # an empty <Response/> bridges the legs
    contact = the_contact(session)
    assert contact.status == "acknowledged" and contact.acknowledged_by == world.case_manager.id
    assert contact.first_response_at is not None and contact.next_escalation_at is None
    [ack] = events(session, contact.id, "acknowledged")
    assert ack.data["via"] == "voice"
    [accept] = events(session, contact.id, "call_accepted")
    assert accept.idempotency_key == f"{leg}:accepted" and accept.staff_id == world.case_manager.id

    # The bridged call ends: Twilio posts the Dial action with "completed".
    done = twiml(dial_ended(client, root, "CAacc1", "completed"))
    assert [child.tag for child in done] == ["Hangup"]
    assert call_status(client, "CAacc1", "completed").status_code == 204
    contact = the_contact(session)
    assert contact.status == "acknowledged" and contact.needs_callback is False
    assert "call_ended" in kinds(session, contact.id)
    assert twilio.sent == []  # nobody was texted: a human answered


def test_no_answer_all_the_way_to_the_unscreened_fallback(client, world, session, twilio):
    root = twiml(call_in(client, world, world.client_phone, "CAchain"))
    contact = the_contact(session)
    dialled = []
    for expected_level in (1, 2, 3, 4):
        assert f"level={expected_level}" in the_dial(root).get("action")
        dialled.append(numbers(root))
        root = twiml(dial_ended(client, root, "CAchain", "no-answer"))
        contact = the_contact(session)
    # Plan order: case manager, backup, on-call, supervisors; nobody twice.
    assert dialled == [
        [world.case_manager.phone],
        [world.backup_cm.phone],
        [world.oncall.phone],
        [world.supervisor.phone],
    ]

    # The end of the plan: the external fallback, dialled without screening.
    fallback = the_dial(root)
    [number] = fallback.findall("Number")
    assert number.text == world.team.fallback_number and number.get("url") is None
    assert "level=5" in fallback.get("action")
    assert contact.status == "unanswered" and contact.level == 5
    assert "fallback_used" in kinds(session, contact.id)
    statuses = [e.data["status"] for e in events(session, contact.id, "dial_result")]
    assert statuses == ["no-answer"] * 4
    # Supervisors hear about an unanswered crisis call.
    assert any("UNANSWERED" in m.body for m in twilio.to(world.supervisor.phone))

    done = twiml(dial_ended(client, root, "CAchain", "completed"))
    assert [child.tag for child in done] == ["Hangup"]


def test_fallback_that_does_not_answer_tells_the_caller_where_to_turn(
    client, world, session, twilio
):
    root = twiml(call_in(client, world, world.client_phone, "CAfbfail"))
    for _ in range(4):
        root = twiml(dial_ended(client, root, "CAfbfail", "no-answer"))
    done = twiml(dial_ended(client, root, "CAfbfail", "busy"))
    assert [child.tag for child in done] == ["Say", "Hangup"]
    assert "988" in done.find("Say").text and "911" in done.find("Say").text


def test_unknown_caller_starts_with_the_on_call(client, world, session, twilio):
    root = twiml(call_in(client, world, "+12015550177", "CAunknown"))
    assert numbers(root) == [world.oncall.phone]
    contact = the_contact(session)
    assert contact.client_id is None
    leg, screen = answer(client, root, world.oncall.phone, "CAunknown")
    assert (
        twiml(screen).find("Gather").find("Say").text
        == "Crisis call for an unknown caller. Press 1 to accept."
    )


def test_nobody_reachable_goes_straight_to_the_fallback_unscreened(client, world, session, twilio):
    """South ICM has nobody on staff and no rota: level 1 is the fallback."""
    other = world.other_team
    other.voicemail_enabled = True  # still no voicemail first: nobody is on call to hear it
    session.add(other)
    session.commit()
    root = twiml(call_in(client, world, "+12015550166", "CAnobody", to=other.crisis_line_number))
    assert [child.tag for child in root][0] == "Say" and root.findall("Record") == []
    [number] = the_dial(root).findall("Number")
    assert number.text == other.fallback_number and number.get("url") is None
    contact = the_contact(session)
    assert contact.team_id == other.id and contact.status == "unanswered" and contact.level == 1
    assert "fallback_used" in kinds(session, contact.id)
    before = kinds(session, contact.id)
    again = call_in(client, world, "+12015550166", "CAnobody", to=other.crisis_line_number)
    assert [n.text for n in the_dial(twiml(again)).findall("Number")] == [other.fallback_number]
    assert kinds(session, contact.id) == before
    assert twiml(dial_ended(client, root, "CAnobody", "completed")).find("Hangup") is not None
