"""Notification rules end to end: an injected clock, signed webhooks, and
Twilio's Messages and Calls APIs recorded by the stand-in (respx)."""

from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import Contact, ContactEvent
from app.escalation.models import PageStep
from app.messaging.models import OutboundMessage
from tests.escalation.page_calls import call_ends, pick_up, press
from tests.world import text_in, tick


def the_contact(session) -> Contact:
    session.expire_all()
    return session.execute(select(Contact).order_by(Contact.id.desc())).scalars().first()


def events(session, contact_id: int, kind: str) -> list[ContactEvent]:
    session.expire_all()
    return list(
        session.execute(
            select(ContactEvent).where(
                ContactEvent.contact_id == contact_id, ContactEvent.kind == kind
            )
        ).scalars()
    )


def set_rules(session, staff, rules) -> None:
    staff.notify_rules = rules
    session.add(staff)
    session.commit()


def test_sms_at_once_then_a_call_after_a_minute(client, app, world, session, twilio, clock):
    text_in(client, world, world.client_phone, "please call me")
    cm = world.case_manager.phone
    assert len(twilio.to(cm)) == 1 and twilio.calls == []
    clock.advance(seconds=59)
    tick(app)
    assert twilio.calls == []
    clock.advance(seconds=1)
    tick(app)
    [call] = twilio.calls
    contact = the_contact(session)
    assert (call.to, call.from_) == (cm, world.team.crisis_line_number)
    assert call.url.startswith("https://crisis.example.org/twilio/voice/page?")
    assert f"contact={contact.id}" in call.url and f"staff={world.case_manager.id}" in call.url
    assert call.status_callback.startswith("https://crisis.example.org/twilio/voice/page-status?")
    assert 0 < int(call.timeout) < 20  # under the carriers' voicemail threshold
    tick(app)
    assert len(twilio.calls) == 1  # fired once
    [called] = events(session, contact.id, "called")
    assert called.staff_id == world.case_manager.id and called.data["channel"] == "call"


def test_press_1_acknowledges_for_the_called_person_and_stops_every_other_rule(
    client, app, world, session, twilio, clock
):
    set_rules(
        session,
        world.case_manager,
        [
            {"channel": "sms", "after_seconds": 0},
            {"channel": "call", "after_seconds": 30},
            {"channel": "call", "after_seconds": 90},
        ],
    )
    text_in(client, world, world.client_phone, "please call me")
    clock.advance(seconds=30)
    tick(app)
    [call] = twilio.calls
    asked = pick_up(client, call)
    assert asked.status_code == 200
    assert '<Gather action="https://crisis.example.org/twilio/voice/page-result?' in asked.text
    assert 'numDigits="1"' in asked.text
    assert "Crisis text for North ICM, from Sam. Press 1 to take it. Press 2 to pass." in asked.text
    taken = press(client, call, "1")
    assert "It is yours. The conversation is in your texts." in taken.text
    contact = the_contact(session)
    assert (contact.status, contact.acknowledged_by) == ("acknowledged", world.case_manager.id)
    assert events(session, contact.id, "acknowledged")[0].data["via"] == "page_call"
    yours = twilio.to(world.case_manager.phone)[-1]
    assert yours.body.startswith(f"#{contact.id} is yours") and "/plan/" in yours.body
    # The call at 90 s, and the next level at 300 s, never come.
    clock.advance(seconds=400)
    tick(app)
    assert len(twilio.calls) == 1
    assert twilio.to(world.backup_cm.phone) == []
    session.expire_all()
    statuses = {
        s.after_seconds: s.status
        for s in session.execute(select(PageStep).where(PageStep.contact_id == contact.id))
        .scalars()
        .all()
    }
    assert statuses == {0: "fired", 30: "fired", 90: "stopped"}


def test_an_sms_ack_stops_the_call_rule(client, app, world, session, twilio, clock):
    text_in(client, world, world.client_phone, "please call me")
    clock.advance(seconds=20)
    text_in(client, world, world.case_manager.phone, "ACK")
    clock.advance(seconds=60)
    tick(app)
    assert twilio.calls == []


def test_press_2_passes_to_the_next_level_at_once(client, app, world, session, twilio, clock):
    text_in(client, world, world.client_phone, "please call me")
    clock.advance(seconds=60)
    tick(app)
    [call] = twilio.calls
    pick_up(client, call)
    assert twilio.to(world.backup_cm.phone) == []
    answer = press(client, call, "2")
    assert "Passed" in answer.text
    contact = the_contact(session)
    assert contact.status == "open" and contact.level == 2
    assert len(twilio.to(world.backup_cm.phone)) == 1  # now, not after the 300 s timeout
    assert events(session, contact.id, "escalated")[0].data["reason"] == "pass"


def test_a_voicemail_pickup_acknowledges_nothing_and_the_next_level_comes_on_time(
    client, app, world, session, twilio, clock
):
    text_in(client, world, world.client_phone, "please call me")
    clock.advance(seconds=60)
    tick(app)
    [call] = twilio.calls
    # A voicemail greeting answers: it hears the prompt and presses nothing.
    pick_up(client, call)
    nothing = press(client, call, "")
    assert "Nothing was pressed" in nothing.text
    assert call_ends(client, call, "completed").status_code == 204
    contact = the_contact(session)
    assert contact.status == "open" and contact.acknowledged_by is None
    clock.advance(seconds=239)
    tick(app)
    assert twilio.to(world.backup_cm.phone) == []
    clock.advance(seconds=1)
    tick(app)
    assert len(twilio.to(world.backup_cm.phone)) == 1
    [ended] = events(session, contact.id, "page_call_ended")
    assert ended.data["status"] == "completed"


def test_busy_no_answer_and_failed_calls_acknowledge_nothing(
    client, app, world, session, twilio, clock
):
    for status in ("busy", "no-answer", "failed"):
        text_in(client, world, f"+1201555016{'bnf'.index(status[0])}", "hello")
    clock.advance(seconds=60)
    tick(app)
    assert len(twilio.calls) == 3
    for call, status in zip(twilio.calls, ("busy", "no-answer", "failed"), strict=True):
        assert call_ends(client, call, status).status_code == 204
    session.expire_all()
    assert {c.status for c in session.execute(select(Contact)).scalars()} == {"open"}
    rows = session.execute(
        select(OutboundMessage.status).where(OutboundMessage.purpose == "page_call")
    ).scalars()
    assert sorted(rows) == ["busy", "failed", "no-answer"]


def test_two_on_one_level_the_second_to_press_1_is_told_who_has_it(
    client, app, world, session, twilio, clock
):
    world.team.escalation_policy = [
        {
            "targets": [
                {"kind": "staff", "id": world.case_manager.id},
                {"kind": "staff", "id": world.oncall.id},
            ],
            "timeout_seconds": 300,
        }
    ]
    session.add(world.team)
    session.commit()
    text_in(client, world, world.client_phone, "please call me")
    clock.advance(seconds=60)
    tick(app)
    first, second = sorted(twilio.calls, key=lambda c: c.to)
    assert {first.to, second.to} == {world.case_manager.phone, world.oncall.phone}
    pick_up(client, first)
    pick_up(client, second)
    assert "It is yours" in press(client, first, "1").text
    told = press(client, second, "1")
    holder = "Casey" if first.to == world.case_manager.phone else "Owen"
    assert f"{holder} has already taken it." in told.text
    contact = the_contact(session)
    assert contact.acknowledged_by == (
        world.case_manager.id if first.to == world.case_manager.phone else world.oncall.id
    )
    assert len(events(session, contact.id, "acknowledged")) == 1


def test_an_sms_opted_out_person_with_only_texts_is_called_at_once(
    client, app, world, session, twilio, clock
):
    """The supervisors' unanswered alert: texts cannot reach this supervisor."""
    set_rules(session, world.supervisor, [{"channel": "sms", "after_seconds": 0}])
    text_in(client, world, world.supervisor.phone, "STOP")
    sent_before = len(twilio.to(world.supervisor.phone))
    text_in(client, world, "+12015550163", "hello")
    contact = the_contact(session)
    for _ in contact.plan:
        clock.advance(seconds=301)
        tick(app)
    assert the_contact(session).status == "unanswered"
    assert len(twilio.to(world.supervisor.phone)) == sent_before  # no text
    [call] = twilio.calls_to(world.supervisor.phone)
    assert "purpose=alert" in call.url
    assert "It is yours" in (pick_up(client, call) and press(client, call, "1")).text
    contact = the_contact(session)
    assert (contact.status, contact.acknowledged_by) == ("acknowledged", world.supervisor.id)


def test_an_sms_opted_out_person_keeps_their_call_rules_and_stays_in_the_plan(
    client, app, world, session, twilio, clock
):
    text_in(client, world, world.case_manager.phone, "STOP")
    text_in(client, world, world.client_phone, "please call me")
    contact = the_contact(session)
    assert world.case_manager.id in contact.plan[0]["staff_ids"]
    assert twilio.to(world.case_manager.phone) == []  # no text for them
    clock.advance(seconds=60)
    tick(app)
    assert [c.to for c in twilio.calls] == [world.case_manager.phone]


def test_repeated_page_callbacks_change_nothing(client, app, world, session, twilio, clock):
    text_in(client, world, world.client_phone, "please call me")
    clock.advance(seconds=60)
    tick(app)
    [call] = twilio.calls
    first = pick_up(client, call)
    assert pick_up(client, call).text == first.text
    taken = press(client, call, "1")
    again = press(client, call, "1")
    assert again.text == taken.text
    call_ends(client, call, "completed")
    call_ends(client, call, "completed")
    contact = the_contact(session)
    for kind in ("page_call_answered", "page_call_pressed", "page_call_ended", "acknowledged"):
        assert len(events(session, contact.id, kind)) == 1, kind
    assert sum("is yours" in m.body for m in twilio.to(world.case_manager.phone)) == 1


def test_a_call_queued_before_someone_acknowledged_is_not_placed(
    client, app, world, session, twilio, clock
):
    from app.escalation.due_rules import fire_due

    text_in(client, world, world.client_phone, "please call me")
    clock.advance(seconds=60)
    runtime = app.state.runtime
    fire_due(db=runtime.db, now=runtime.now(), settings=runtime.settings)  # queued, not yet sent
    text_in(client, world, world.case_manager.phone, "ACK")
    runtime.dispatcher.drain()
    assert twilio.calls == []
    session.expire_all()
    [row] = session.execute(
        select(OutboundMessage).where(OutboundMessage.purpose == "page_call")
    ).scalars()
    assert row.status == "canceled"


def test_a_page_webhook_with_a_bad_signature_changes_nothing(
    client, app, world, session, twilio, clock
):
    text_in(client, world, world.client_phone, "please call me")
    contact = the_contact(session)
    path = f"/twilio/voice/page-result?contact={contact.id}&level=1&staff={world.case_manager.id}"
    forged = client.post(
        path, data={"CallSid": "CAx", "Digits": "1"}, headers={"X-Twilio-Signature": "nope"}
    )
    assert forged.status_code == 403
    assert the_contact(session).status == "open"


def test_simulate_page_drives_a_page_call_as_twilio_would(
    client, app, world, session, twilio, clock
):
    """What `crisisroute simulate page --press 1` posts, signed, acknowledges."""
    from app.simulate import page_call_steps
    from tests.twilio_signing import post_signed

    text_in(client, world, world.client_phone, "please call me")
    clock.advance(seconds=60)
    tick(app)
    [call] = twilio.calls
    answers = [post_signed(client, path, params) for path, params in page_call_steps(call.url, "1")]
    assert [a.status_code for a in answers] == [200, 200, 204]
    assert "Press 1 to take it" in answers[0].text and "It is yours" in answers[1].text
    assert the_contact(session).acknowledged_by == world.case_manager.id


def test_a_missed_calls_callback_rings_the_level_by_their_rules_and_says_so(
    client, app, world, session, twilio, clock
):
    from tests.inbound.voice_calls import call_in, call_status

    call_in(client, world, world.client_phone, "CAmissed")
    assert call_status(client, "CAmissed", "completed").status_code == 204  # the caller hung up
    contact = the_contact(session)
    assert contact.needs_callback is True
    assert "missed call" in twilio.to(world.case_manager.phone)[0].body
    clock.advance(seconds=60)
    tick(app)
    [call] = twilio.calls_to(world.case_manager.phone)
    asked = pick_up(client, call)
    assert "Missed crisis call for North ICM, from Sam. Press 1 to take it." in asked.text
    press(client, call, "1")
    contact = the_contact(session)
    assert contact.acknowledged_by == world.case_manager.id and contact.needs_callback is False
