"""Every page about who holds a contact follows the person's notification
rules (#23): the reply-timeout re-page, the shift-end question and the
repeated "still unanswered" alert are a text and then, unanswered, a call;
a person whose rules are calls only is called."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.contacts.models import Contact
from tests.escalation.page_calls import pick_up, press
from tests.ownership.test_shift_end import check, nia_takes_the_rota
from tests.ownership.test_unanswered_repeats import unanswered
from tests.world import kinds as world_kinds
from tests.world import text_in, tick

SMS_THEN_CALL = [{"channel": "sms", "after_seconds": 0}, {"channel": "call", "after_seconds": 60}]
CALL_ONLY = [{"channel": "call", "after_seconds": 0}]


def the_contact(session) -> Contact:
    session.expire_all()
    return session.execute(select(Contact)).scalars().one()


def kinds(session, contact_id: int) -> list[str]:
    session.expire_all()
    return world_kinds(session, contact_id)


def set_rules(session, staff, rules) -> None:
    staff.notify_rules = rules
    session.add(staff)
    session.commit()


def held_by_case_manager(client, world, session):
    text_in(client, world, world.client_phone, "please help")
    text_in(client, world, world.case_manager.phone, "Hi Sam, I am here")
    contact = the_contact(session)
    assert contact.acknowledged_by == world.case_manager.id
    return contact


def assert_a_text_back_stops_the_call(client, world, twilio, clock, app, holder, words) -> None:
    """The holder texts back before their call rule's minute runs out: no call."""
    text_in(client, world, holder.phone, words)
    clock.advance(seconds=60)
    tick(app)
    assert twilio.calls_to(holder.phone) == []


def test_the_reply_timeout_repage_texts_then_calls_the_holder_and_1_keeps_it(
    client, world, session, twilio, clock, app
):
    contact = held_by_case_manager(client, world, session)
    set_rules(session, world.case_manager, SMS_THEN_CALL)
    text_in(client, world, world.client_phone, "are you there? I took pills")
    clock.advance(seconds=601)
    tick(app)
    assert twilio.to(world.case_manager.phone)[-1].body.startswith(
        f'#{contact.id} is waiting for you: "are you there?'
    )
    assert twilio.calls_to(world.case_manager.phone) == []
    # A minute without a reply: their call rule rings them.
    clock.advance(seconds=60)
    tick(app)
    [call] = twilio.calls_to(world.case_manager.phone)
    assert "purpose=remind" in call.url
    answered = pick_up(client, call)
    assert "is waiting for your reply" in answered.text and "Press 1" in answered.text
    assert "It stays with you" in press(client, call, "1").text
    after = the_contact(session)
    assert after.status == "acknowledged" and after.next_escalation_at is None
    assert "kept" in kinds(session, contact.id)
    # Kept: no second wait runs out, the contact stays.
    clock.advance(seconds=1300)
    tick(app)
    assert the_contact(session).acknowledged_by == world.case_manager.id


def test_a_holder_who_answers_by_text_is_not_called(client, world, session, twilio, clock, app):
    held_by_case_manager(client, world, session)
    set_rules(session, world.case_manager, SMS_THEN_CALL)
    text_in(client, world, world.client_phone, "hello?")
    clock.advance(seconds=601)
    tick(app)
    assert_a_text_back_stops_the_call(
        client, world, twilio, clock, app, world.case_manager, "Sorry, here now"
    )


def test_a_holder_with_only_a_call_rule_is_called_for_the_repage(
    client, world, session, twilio, clock, app
):
    held_by_case_manager(client, world, session)
    set_rules(session, world.case_manager, CALL_ONLY)
    text_in(client, world, world.client_phone, "hello?")
    before = len(twilio.to(world.case_manager.phone))
    clock.advance(seconds=601)
    tick(app)
    assert len(twilio.to(world.case_manager.phone)) == before
    [call] = twilio.calls_to(world.case_manager.phone)
    assert "purpose=remind" in call.url


def test_the_shift_end_question_texts_then_calls_and_1_keeps_the_contact(
    client, world, session, twilio, clock, app
):
    text_in(client, world, "+12015550177", "help me")
    text_in(client, world, world.oncall.phone, "I am here")
    contact = the_contact(session)
    assert contact.acknowledged_by == world.oncall.id
    set_rules(session, world.oncall, SMS_THEN_CALL)
    nia = nia_takes_the_rota(session, world, clock, after=timedelta(hours=1), reason="evening")
    clock.advance(hours=1, seconds=1)
    check(app)
    assert twilio.to(world.oncall.phone)[-1].body.startswith(
        f"#{contact.id}: your shift ended. Reply KEEP to stay with it, or it passes to Nia Next"
    )
    clock.advance(seconds=60)
    tick(app)
    [call] = twilio.calls_to(world.oncall.phone)
    assert "purpose=keep_ask" in call.url
    assert "your shift has ended" in pick_up(client, call).text
    press(client, call, "1")
    clock.advance(minutes=10)
    check(app)
    contact = the_contact(session)
    assert contact.status == "acknowledged" and contact.acknowledged_by == world.oncall.id
    assert twilio.to(nia.phone) == []


def test_the_shift_end_call_is_not_placed_once_the_holder_said_keep(
    client, world, session, twilio, clock, app
):
    text_in(client, world, "+12015550177", "help me")
    text_in(client, world, world.oncall.phone, "I am here")
    set_rules(session, world.oncall, SMS_THEN_CALL)
    nia_takes_the_rota(session, world, clock, after=timedelta(minutes=5))
    clock.advance(minutes=5, seconds=1)
    check(app)
    assert_a_text_back_stops_the_call(client, world, twilio, clock, app, world.oncall, "KEEP")


def test_the_repeated_unanswered_alert_calls_a_supervisor_by_their_rules(
    client, world, session, twilio, clock, app
):
    set_rules(session, world.supervisor, CALL_ONLY)
    contact = unanswered(client, world, session, clock, app)
    first = len(twilio.calls_to(world.supervisor.phone))
    assert first >= 1  # the first alert, by their rules already
    clock.advance(seconds=901)
    tick(app)
    calls = twilio.calls_to(world.supervisor.phone)
    assert len(calls) == first + 1 and "purpose=realert" in calls[-1].url
    assert "unanswered_realerted" in kinds(session, contact.id)
    # Pressing 1 on the repeated alert takes the contact, late as it is.
    pick_up(client, calls[-1])
    press(client, calls[-1], "1")
    taken = the_contact(session)
    assert taken.status == "acknowledged" and taken.acknowledged_by == world.supervisor.id
