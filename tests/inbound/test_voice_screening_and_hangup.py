"""What is not an answer (a voicemail, a decline, busy, failed), a caller who
hangs up before anyone accepts, and voicemail for the team."""

from __future__ import annotations

from tests.conftest import PUBLIC_BASE_URL, TWILIO_SID
from tests.inbound.test_voice_dial_chain import events, kinds, the_contact
from tests.inbound.voice_calls import (
    answer,
    call_in,
    call_status,
    dial_ended,
    numbers,
    path_of,
    press,
    the_dial,
    twiml,
)
from tests.twilio_signing import post_signed
from tests.world import text_in, tick


def test_voicemail_pickup_is_not_an_answer(client, world, session, twilio):
    root = twiml(call_in(client, world, world.client_phone, "CAvm"))
    # The case manager's voicemail picks up and plays the screen to nobody.
    leg, screen = answer(client, root, world.case_manager.phone, "CAvm")
    screen_root = twiml(screen)
    # Should Twilio fall through the Gather, the leg hangs up: nothing bridges without a 1.
    assert [child.tag for child in screen_root][-1] == "Hangup"
    hung = twiml(press(client, screen_root, leg, "CAvm", None))
    assert [child.tag for child in hung][-1] == "Hangup"

    # The dialled leg "completed" (the voicemail answered): the next level is dialled.
    nxt = twiml(dial_ended(client, root, "CAvm", "completed"))
    assert numbers(nxt) == [world.backup_cm.phone]
    assert "level=2" in the_dial(nxt).get("action")
    contact = the_contact(session)
    assert contact.status == "open" and contact.acknowledged_by is None and contact.level == 2
    [timeout] = events(session, contact.id, "call_declined")
    assert (
        timeout.staff_id == world.case_manager.id
        and timeout.level == 1
        and timeout.data["digits"] is None
    )
    assert (
        events(session, contact.id, "call_accepted") == []
        and events(session, contact.id, "acknowledged") == []
    )
    [result] = events(session, contact.id, "dial_result")
    assert result.data["status"] == "completed" and result.data["answered"] is True
    assert twilio.sent == []


def test_declined_busy_and_failed_each_move_to_the_next_level(client, world, session, twilio):
    root = twiml(call_in(client, world, world.client_phone, "CAbusy"))
    leg, screen = answer(client, root, world.case_manager.phone, "CAbusy")
    declined = twiml(press(client, twiml(screen), leg, "CAbusy", "2"))
    assert [child.tag for child in declined][-1] == "Hangup"
    root = twiml(dial_ended(client, root, "CAbusy", "completed"))
    assert numbers(root) == [world.backup_cm.phone]
    root = twiml(dial_ended(client, root, "CAbusy", "busy"))
    assert numbers(root) == [world.oncall.phone]
    root = twiml(dial_ended(client, root, "CAbusy", "failed"))
    assert numbers(root) == [world.supervisor.phone]
    contact = the_contact(session)
    assert [e.data["status"] for e in events(session, contact.id, "dial_result")] == [
        "completed",
        "busy",
        "failed",
    ]
    [decline] = events(session, contact.id, "call_declined")
    assert decline.staff_id == world.case_manager.id
    assert contact.status == "open"
    # Every leg is on the timeline.
    assert kinds(session, contact.id).count("dialled") == 4


def test_caller_hangs_up_then_sms_engine_takes_over(client, world, session, twilio, clock):
    root = twiml(call_in(client, world, world.client_phone, "CAgone"))
    root = twiml(dial_ended(client, root, "CAgone", "no-answer"))  # level 1 rang out
    assert numbers(root) == [world.backup_cm.phone]
    # The caller hangs up while level 2 rings.
    assert call_status(client, "CAgone", "completed").status_code == 204
    contact = the_contact(session)
    assert contact.needs_callback is True and contact.status == "open"
    # The current on-call (level 2, whose phone was ringing) gets the missed-call
    # text; the SMS engine takes over from there.
    assert contact.level == 2 and contact.next_escalation_at is not None
    [missed] = twilio.to(world.backup_cm.phone)
    assert "missed call" in missed.body and f"#{contact.id}" in missed.body
    assert twilio.to(world.case_manager.phone) == [] and twilio.to(world.oncall.phone) == []
    [gone] = events(session, contact.id, "caller_hung_up")
    assert gone.idempotency_key == "CAgone:status:final"

    # Twilio's late Dial action for the leg cancelled by the hang-up changes nothing.
    before = len(kinds(session, contact.id))
    late = twiml(dial_ended(client, root, "CAgone", "canceled", call_status="completed"))
    assert [child.tag for child in late] == ["Hangup"]
    assert call_status(client, "CAgone", "completed").status_code == 204
    assert call_status(client, "CAgone", "completed").status_code == 204
    assert len(twilio.sent) == 1
    assert len(events(session, contact.id, "caller_hung_up")) == 1
    # Only the late dial_result (its own step) was new.
    assert len(kinds(session, contact.id)) == before + 1

    # Unacknowledged: the tick escalates it like a text, level by level.
    clock.advance(seconds=world.team.ack_timeout_seconds + 1)
    assert tick(client.app) == 1
    assert "missed call" in twilio.to(world.oncall.phone)[0].body
    clock.advance(seconds=world.team.ack_timeout_seconds + 1)
    assert tick(client.app) == 1
    [escalated] = twilio.to(world.supervisor.phone)
    assert "missed call" in escalated.body
    contact = the_contact(session)
    assert contact.level == 4

    # The supervisor takes it by SMS: escalation stops, callback no longer pending.
    assert text_in(client, world, world.supervisor.phone, "ACK").status_code == 200
    contact = the_contact(session)
    assert contact.status == "acknowledged" and contact.needs_callback is False
    clock.advance(seconds=world.team.ack_timeout_seconds * 3)
    assert tick(client.app) == 0


def test_hang_up_seen_first_on_the_dial_action(client, world, session, twilio):
    """Unknown caller: the on-call is level 1 and rang; the missed-call SMS goes to them."""
    root = twiml(call_in(client, world, "+12015550177", "CAgone2"))
    assert numbers(root) == [world.oncall.phone]
    done = twiml(dial_ended(client, root, "CAgone2", "no-answer", call_status="completed"))
    assert [child.tag for child in done] == ["Hangup"]
    contact = the_contact(session)
    assert contact.needs_callback and contact.status == "open" and contact.level == 1
    assert contact.next_escalation_at is not None
    [missed] = twilio.to(world.oncall.phone)
    assert "missed call" in missed.body
    assert twilio.to(world.supervisor.phone) == []
    # The status callback that follows changes nothing.
    before = len(kinds(session, contact.id))
    call_status(client, "CAgone2", "completed")
    assert len(twilio.sent) == 1 and len(events(session, contact.id, "caller_hung_up")) == 1
    assert len(kinds(session, contact.id)) == before


def test_caller_hangs_up_after_everyone_rang_the_current_level_is_texted(
    client, world, session, twilio
):
    world.team.voicemail_enabled = True
    session.add(world.team)
    session.commit()
    root = twiml(call_in(client, world, world.client_phone, "CAvmgone"))
    for _ in range(4):
        root = twiml(dial_ended(client, root, "CAvmgone", "no-answer"))
    assert root.findall("Record")  # every staff member rang; the voicemail prompt plays
    call_status(client, "CAvmgone", "completed")
    contact = the_contact(session)
    assert contact.needs_callback and contact.status == "open" and contact.level == 4
    [missed] = twilio.to(world.supervisor.phone)
    assert "missed call" in missed.body


def test_call_still_in_progress_status_changes_nothing(client, world, session, twilio):
    twiml(call_in(client, world, world.client_phone, "CAring"))
    contact = the_contact(session)
    before = len(kinds(session, contact.id))
    assert call_status(client, "CAring", "in-progress").status_code == 204
    assert call_status(client, "CAunknownsid", "completed").status_code == 204
    contact = the_contact(session)
    assert len(kinds(session, contact.id)) == before and not contact.needs_callback
    assert contact.next_escalation_at is None and twilio.sent == []


def test_caller_gone_after_the_fallback_is_marked_for_callback(client, world, session, twilio):
    root = twiml(call_in(client, world, world.client_phone, "CAlate"))
    for _ in range(4):
        root = twiml(dial_ended(client, root, "CAlate", "no-answer"))
    sent = len(twilio.sent)
    call_status(client, "CAlate", "completed")
    contact = the_contact(session)
    assert contact.status == "unanswered" and contact.needs_callback is True
    assert len(twilio.sent) == sent


def test_voicemail_before_the_fallback_alerts_on_call_and_supervisors_once(
    client, world, session, twilio
):
    world.team.voicemail_enabled = True
    session.add(world.team)
    session.commit()
    root = twiml(call_in(client, world, world.client_phone, "CAvmail"))
    for _ in range(4):
        root = twiml(dial_ended(client, root, "CAvmail", "no-answer"))
    [record] = root.findall("Record")
    contact = the_contact(session)
    assert (
        record.get("recordingStatusCallback")
        == f"{PUBLIC_BASE_URL}/twilio/voice/recording?contact={contact.id}"
    )
    assert root.findall("Dial") == []  # the message comes before the fallback
    assert contact.status == "open"

    recording_url = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Recordings/RE123"
    params = {
        "CallSid": "CAvmail",
        "AccountSid": TWILIO_SID,
        "RecordingSid": "RE123",
        "RecordingUrl": recording_url,
        "RecordingStatus": "completed",
        "RecordingDuration": "31",
    }
    path = path_of(record.get("recordingStatusCallback"))
    assert post_signed(client, path, params).status_code == 204
    for staff in (world.oncall, world.supervisor):
        [alert] = twilio.to(staff.phone)
        assert alert.body == f"#{contact.id} voicemail from {world.client_phone}: {recording_url}"
    [vm] = events(session, contact.id, "voicemail")
    assert vm.idempotency_key == "RE123:recording"
    assert twilio.to(world.case_manager.phone) == []
    assert post_signed(client, path, params).status_code == 204  # Twilio's retry
    assert len(twilio.sent) == 2
    assert the_contact(session).needs_callback is True

    # The message ends: the caller is connected to the external fallback, unscreened.
    after = twiml(
        post_signed(
            client,
            path_of(record.get("action")),
            {
                "CallSid": "CAvmail",
                "AccountSid": TWILIO_SID,
                "CallStatus": "in-progress",
                "RecordingUrl": recording_url,
                "RecordingDuration": "31",
                "Digits": "#",
            },
        )
    )
    [number] = the_dial(after).findall("Number")
    assert number.text == world.team.fallback_number and number.get("url") is None
    assert the_contact(session).status == "unanswered"


def test_two_phones_ring_one_voicemail_one_human_who_presses_1(client, world, session, twilio):
    from tests.factories import make_staff

    second = make_staff(
        session, world.team, name="Val Visor", phone="+12015550184", role="supervisor"
    )
    session.commit()
    root = twiml(call_in(client, world, world.client_phone, "CAtwo"))
    for _ in range(3):
        root = twiml(dial_ended(client, root, "CAtwo", "no-answer"))
    assert sorted(numbers(root)) == sorted(
        [world.supervisor.phone, second.phone]
    )  # both ring at once
    # The first supervisor's voicemail picks up and hears the screen; nothing pressed.
    vm_leg, vm_screen = answer(client, root, world.supervisor.phone, "CAtwo")
    twiml(press(client, twiml(vm_screen), vm_leg, "CAtwo", None))
    assert the_contact(session).status == "open"
    # The second supervisor presses 1.
    leg, screen = answer(client, root, second.phone, "CAtwo")
    assert list(twiml(press(client, twiml(screen), leg, "CAtwo", "1"))) == []
    contact = the_contact(session)
    assert contact.status == "acknowledged" and contact.acknowledged_by == second.id
    assert [child.tag for child in twiml(dial_ended(client, root, "CAtwo", "completed"))] == [
        "Hangup"
    ]
    dialled = [e.staff_id for e in events(session, contact.id, "dialled")]
    assert len(dialled) == len(set(dialled)) == 5
    assert twilio.sent == []


def test_accepted_call_status_is_not_a_missed_call(client, world, session, twilio):
    root = twiml(call_in(client, world, world.client_phone, "CAok"))
    leg, screen = answer(client, root, world.case_manager.phone, "CAok")
    twiml(press(client, twiml(screen), leg, "CAok", "1"))
    call_status(client, "CAok", "completed")
    contact = the_contact(session)
    assert (
        contact.status == "acknowledged"
        and not contact.needs_callback
        and contact.next_escalation_at is None
    )
    assert events(session, contact.id, "caller_hung_up") == [] and twilio.sent == []
