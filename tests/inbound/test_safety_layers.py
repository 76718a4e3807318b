"""Safety rules that two layers of the code enforce, each layer tested on its
own with the other bypassed, and rules that only pure-function tests covered,
tested end to end through a signed webhook.

- Nothing is ever sent to a number that opted out (Twilio answers 21610 and
  may flag the line): the auto-reply, the fallback text, a staff relay and a
  staff notification are all suppressed, and the suppression is on the
  timeline. Two checks guard the relay: the relay's own and `enqueue`'s.
- A person on leave is not paged, whether they are the client's case manager
  or the one the rota has on call.
- A Twilio retry is one message: the inbox keys texts by MessageSid, and the
  contact timeline refuses an event key it has seen (the retry of a text whose
  contact is closed meanwhile must not open a second contact).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.contacts.models import Contact, ContactEvent, EventKind
from app.inbound.message import InboundSms
from app.inbound.sms import handle_inbound_sms
from tests.conftest import auth
from tests.world import kinds, text_in, the_contact, tick


def walk_to_the_end(app, clock, levels: int = 6) -> None:
    for _ in range(levels):
        clock.advance(seconds=301)
        tick(app)


# ------------------------------------------------------------------ opt-out


def test_an_opted_out_client_receives_nothing_from_any_path(
    client, app, world, session, twilio, clock
):
    text_in(client, world, world.client_phone, "STOP")
    clock.advance(minutes=1)
    text_in(client, world, world.client_phone, "I can't do this anymore")
    contact = the_contact(session)
    assert EventKind.AUTO_REPLY_SUPPRESSED in kinds(session, contact.id)
    assert twilio.to(world.case_manager.phone), "the case manager is still paged"

    # A staff reply is not relayed to a number the carrier blocks.
    text_in(client, world, world.case_manager.phone, "On my way, Sam")
    assert not any("On my way" in m.body for m in twilio.to(world.client_phone))

    # A second contact that nobody answers: its fallback text is suppressed too.
    text_in(client, world, world.case_manager.phone, "DONE")
    clock.advance(minutes=5)
    text_in(client, world, world.client_phone, "are you there")
    second = the_contact(session)
    assert second.id != contact.id
    walk_to_the_end(app, clock)
    assert the_contact(session).status == "unanswered"

    assert twilio.to(world.client_phone) == []


def test_an_opted_out_staff_member_is_not_paged(client, app, world, session, twilio, clock):
    text_in(client, world, world.case_manager.phone, "STOP")
    before = len(twilio.to(world.case_manager.phone))
    text_in(client, world, world.client_phone, "hello?")
    walk_to_the_end(app, clock)
    assert len(twilio.to(world.case_manager.phone)) == before
    assert twilio.to(world.backup_cm.phone), "the next person is paged"


def test_the_relay_check_alone_keeps_a_staff_reply_from_an_opted_out_client(
    client, app, world, session, twilio, clock, monkeypatch
):
    """`enqueue`'s check bypassed: the relay's own check must hold."""
    import app.messaging.outbox as outbox

    text_in(client, world, world.client_phone, "STOP")
    text_in(client, world, world.client_phone, "please call")
    monkeypatch.setattr(outbox, "is_opted_out", lambda **_: False)
    text_in(client, world, world.case_manager.phone, "Calling you in five minutes")
    assert not any("five minutes" in m.body for m in twilio.to(world.client_phone))


def test_the_outbox_check_alone_keeps_a_staff_reply_from_an_opted_out_client(
    client, app, world, session, twilio, clock, monkeypatch
):
    """The relay's own check bypassed: `enqueue` must refuse the message."""
    import app.inbound.staff_replies as staff_replies

    text_in(client, world, world.client_phone, "STOP")
    text_in(client, world, world.client_phone, "please call")
    monkeypatch.setattr(staff_replies, "is_opted_out", lambda **_: False)
    text_in(client, world, world.case_manager.phone, "Calling you in five minutes")
    assert twilio.to(world.client_phone) == []


# ------------------------------------------------------------------- leave


def test_a_case_manager_on_leave_is_skipped_when_their_client_texts(
    client, app, world, session, twilio, clock
):
    now = clock()
    response = client.post(
        f"/v1/staff/{world.case_manager.id}/leave",
        json={
            "start": (now - timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(days=2)).isoformat(),
        },
        headers=auth(world.supervisor_key),
    )
    assert response.status_code == 201, response.text
    text_in(client, world, world.client_phone, "is anyone there")
    assert twilio.to(world.case_manager.phone) == []
    assert len(twilio.to(world.backup_cm.phone)) == 1
    assert [lv["kind"] for lv in the_contact(session).plan][0] == "backup"


def test_the_on_call_person_on_leave_is_skipped(client, app, world, session, twilio, clock):
    now = clock()
    window = {
        "start": (now - timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(days=2)).isoformat(),
    }
    for person in (world.case_manager, world.backup_cm, world.oncall):
        response = client.post(
            f"/v1/staff/{person.id}/leave", json=window, headers=auth(world.supervisor_key)
        )
        assert response.status_code == 201, response.text
    text_in(client, world, world.client_phone, "is anyone there")
    walk_to_the_end(app, clock, levels=2)
    for person in (world.case_manager, world.backup_cm, world.oncall):
        assert twilio.to(person.phone) == [], person.name
    assert any(f"#{the_contact(session).id}" in m.body for m in twilio.to(world.supervisor.phone))


# ------------------------------------------------------------ duplicates


def test_the_inbox_alone_makes_a_twilio_retry_one_message(
    client, app, world, session, twilio, clock, monkeypatch
):
    """The timeline's duplicate check bypassed: the inbox must hold."""
    import app.contacts.service as contacts_service

    monkeypatch.setattr(contacts_service, "event_seen", lambda **_: False)
    text_in(client, world, world.client_phone, "hello", sid="SMretry0001", route=False)
    text_in(client, world, world.client_phone, "hello", sid="SMretry0001")
    contacts = session.execute(select(func.count()).select_from(Contact)).scalar_one()
    assert contacts == 1
    assert len(twilio.to(world.client_phone)) == 1  # one auto-reply
    assert len(twilio.to(world.case_manager.phone)) == 1  # one notification


def test_the_timeline_alone_refuses_a_retry_whose_contact_was_closed_meanwhile(
    world, session, settings, clock
):
    """The inbox bypassed (the text handed to routing twice): the second
    delivery of a text whose contact was resolved in between is a duplicate,
    not a second contact."""
    sms = InboundSms(message_sid="SMtwice00001", from_number=world.client_phone, body="help")
    team = world.team
    assert (
        handle_inbound_sms(session=session, team=team, sms=sms, now=clock(), settings=settings)
        == "opened"
    )
    session.commit()
    contact = the_contact(session)
    contact.status, contact.resolved_at, contact.next_escalation_at = "resolved", clock(), None
    session.add(contact)
    session.commit()

    again = handle_inbound_sms(
        session=session, team=team, sms=sms, now=clock() + timedelta(minutes=1), settings=settings
    )
    session.commit()
    assert again == "duplicate"
    assert session.execute(select(func.count()).select_from(Contact)).scalar_one() == 1


def test_the_timeline_alone_refuses_a_retry_of_an_open_conversation(
    world, session, settings, clock
):
    sms = InboundSms(message_sid="SMagain0001", from_number=world.client_phone, body="hello")
    first = handle_inbound_sms(
        session=session, team=world.team, sms=sms, now=clock(), settings=settings
    )
    session.commit()
    assert first != "duplicate"
    events = session.execute(select(func.count()).select_from(ContactEvent)).scalar_one()
    second = handle_inbound_sms(
        session=session, team=world.team, sms=sms, now=clock(), settings=settings
    )
    session.commit()
    assert second == "duplicate"
    assert session.execute(select(func.count()).select_from(ContactEvent)).scalar_one() == events
