"""What a message Twilio could not deliver changes (app.escalation.failures),
one rule at a time: each test fails a message by hand the way the status
callback does (its status moved to `undelivered`, then the hook), next to
messages that must not change what happens. Written for the mutation run of
failures.py (tests/MUTATION.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.contacts import service as contacts
from app.contacts.models import Contact, ContactEvent
from app.escalation.failures import on_message_failed
from app.messaging import texts
from app.messaging.models import MessagePurpose, OutboundMessage
from app.messaging.outbox import advance_status
from tests.world import text_in, the_contact


def queued(session, world, contact, *, purpose, to, staff=None, level=None, **fields):
    """An outbound row about `contact`, already handed to Twilio unless
    `status` says otherwise."""
    now = fields.pop("now", None) or contact.created_at
    row = OutboundMessage(
        team_id=world.team.id,
        contact_id=contact.id,
        staff_id=staff.id if staff else None,
        level=level,
        purpose=purpose,
        to_number=to,
        from_number=world.team.crisis_line_number,
        body="words",
        status=fields.pop("status", "sent"),
        created_at=fields.pop("created_at", now),
        updated_at=now,
        **fields,
    )
    session.add(row)
    session.commit()
    return row


def fails(session, app, message, code="30003"):
    """Twilio reports `message` undelivered."""
    runtime = app.state.runtime
    now = runtime.now()
    assert advance_status(message, "undelivered", error_code=code, at=now)
    session.add(message)
    on_message_failed(session, message, now, runtime.settings)
    session.commit()


def events(session, contact_id, kind):
    session.expire_all()
    return list(
        session.execute(
            select(ContactEvent)
            .where(ContactEvent.contact_id == contact_id, ContactEvent.kind == kind)
            .order_by(ContactEvent.id)
        ).scalars()
    )


def outbox(session, purpose, to=None):
    session.expire_all()
    query = select(OutboundMessage).where(OutboundMessage.purpose == purpose)
    if to is not None:
        query = query.where(OutboundMessage.to_number == to)
    return list(session.execute(query.order_by(OutboundMessage.id)).scalars())


@pytest.fixture
def contact(client, world, session, twilio, clock):
    """A client's text: an open contact at level 1, the case manager notified."""
    text_in(client, world, world.client_phone, "please help")
    contact = the_contact(session)
    assert (contact.status, contact.level) == ("open", 1)
    return contact


def the_notification(session, world):
    [note] = outbox(session, MessagePurpose.NOTIFY, world.case_manager.phone)
    assert note.level == 1
    return note


def test_a_failed_notification_waits_while_someone_else_at_its_level_can_read_theirs(
    app, world, session, contact
):
    note = the_notification(session, world)
    other = queued(
        session,
        world,
        contact,
        purpose=MessagePurpose.NOTIFY,
        to=world.supervisor.phone,
        staff=world.supervisor,
        level=1,
    )
    fails(session, app, note, "30005")
    assert the_contact(session).level == 1
    [failed] = events(session, contact.id, "delivery_failed")
    assert (failed.staff_id, failed.level) == (world.case_manager.id, 1)
    assert failed.data == {"message_id": note.id, "error_code": "30005"}
    assert events(session, contact.id, "escalated") == []

    fails(session, app, other)
    assert the_contact(session).level == 2
    [escalated] = events(session, contact.id, "escalated")
    assert escalated.data["reason"] == "delivery_failed"
    assert len(outbox(session, MessagePurpose.NOTIFY, world.backup_cm.phone)) == 1


@pytest.mark.parametrize(
    "unlike",
    ["another contact's", "the next level's", "not a notification", "already failed"],
)
def test_a_message_unlike_a_live_notification_at_the_level_does_not_hold_it(
    app, client, world, session, contact, unlike
):
    note = the_notification(session, world)
    target = contact
    if unlike == "another contact's":
        text_in(client, world, "+12015550199", "someone else")
        target = the_contact(session)
        assert target.id != contact.id
    queued(
        session,
        world,
        target,
        purpose=MessagePurpose.COMMAND_REPLY
        if unlike == "not a notification"
        else MessagePurpose.NOTIFY,
        to=world.supervisor.phone,
        staff=world.supervisor,
        level=2 if unlike == "the next level's" else 1,
        status="failed" if unlike == "already failed" else "sent",
    )
    fails(session, app, note)
    assert the_contact_by_id(session, contact.id).level == 2


def the_contact_by_id(session, contact_id):
    session.expire_all()
    return session.get(Contact, contact_id)


def test_a_notification_failing_once_its_contact_is_taken_only_goes_on_the_timeline(
    app, world, session, contact, clock
):
    note = the_notification(session, world)
    contacts.acknowledge(
        session=session, contact=contact, staff_id=world.backup_cm.id, at=clock.now, via="sms"
    )
    session.commit()
    fails(session, app, note)
    after = the_contact(session)
    assert (after.status, after.level, after.acknowledged_by) == (
        "acknowledged",
        1,
        world.backup_cm.id,
    )
    assert len(events(session, contact.id, "delivery_failed")) == 1


def test_a_notification_of_a_level_already_passed_does_not_pass_the_next_one(
    app, world, session, contact
):
    # The next level is only called: no notification of its own holds it.
    world.backup_cm.notify_rules = [{"channel": "call", "after_seconds": 0}]
    session.add(world.backup_cm)
    session.commit()
    note = the_notification(session, world)
    second = queued(
        session,
        world,
        contact,
        purpose=MessagePurpose.NOTIFY,
        to=world.supervisor.phone,
        staff=world.supervisor,
        level=1,
    )
    fails(session, app, note)
    fails(session, app, second)
    assert the_contact(session).level == 2
    assert outbox(session, MessagePurpose.NOTIFY, world.backup_cm.phone) == []
    late = queued(
        session,
        world,
        contact,
        purpose=MessagePurpose.NOTIFY,
        to=world.oncall.phone,
        staff=world.oncall,
        level=1,
    )
    fails(session, app, late)
    assert the_contact(session).level == 2
    assert len(events(session, contact.id, "delivery_failed")) == 3


def test_only_notifications_and_relays_about_a_contact_count(app, world, session, contact):
    auto = queued(session, world, contact, purpose=MessagePurpose.AUTO_REPLY, to=world.client_phone)
    fails(session, app, auto)
    note = the_notification(session, world)
    note.contact_id = None
    session.add(note)
    session.commit()
    fails(session, app, note)
    assert events(session, contact.id, "delivery_failed") == []
    assert the_contact(session).level == 1


def held_by_the_case_manager(session, world, contact, clock):
    contacts.acknowledge(
        session=session, contact=contact, staff_id=world.case_manager.id, at=clock.now, via="sms"
    )
    session.commit()


def test_a_holders_words_that_did_not_reach_the_client_are_never_silent(
    app, world, session, contact, clock
):
    world.case_manager.language = "es"
    session.add(world.case_manager)
    held_by_the_case_manager(session, world, contact, clock)
    reply = dict(purpose=MessagePurpose.RELAY, to=world.client_phone, staff=world.case_manager)
    first_part = queued(session, world, contact, **reply)
    second_part = queued(session, world, contact, **reply)
    clock.advance(minutes=3)
    fails(session, app, first_part, "30006")
    [told] = outbox(session, MessagePurpose.COMMAND_REPLY, world.case_manager.phone)
    assert told.created_at.replace(tzinfo=None) == clock.now.replace(tzinfo=None)
    assert told.body == texts.relay_not_delivered(
        contact_id=contact.id, from_number=world.client_phone, lang="es"
    )
    assert (told.contact_id, told.staff_id) == (contact.id, world.case_manager.id)
    [failed] = events(session, contact.id, "delivery_failed")
    assert failed.data == {"message_id": first_part.id, "error_code": "30006", "relay": True}
    assert failed.staff_id == world.case_manager.id
    # The second part of the same reply: they were told once.
    fails(session, app, second_part)
    assert len(outbox(session, MessagePurpose.COMMAND_REPLY, world.case_manager.phone)) == 1
    after = the_contact(session)
    assert (after.status, after.acknowledged_by, after.level) == (
        "acknowledged",
        world.case_manager.id,
        1,
    )


@pytest.mark.parametrize(
    "unlike",
    [
        "another contact's",
        "a notification",
        "to another number",
        "sent a second later",
        "delivered",
        "from someone else",
    ],
)
def test_a_failed_message_unlike_a_part_of_the_reply_does_not_silence_it(
    app, client, world, session, contact, clock, unlike
):
    held_by_the_case_manager(session, world, contact, clock)
    target = contact
    if unlike == "another contact's":
        text_in(client, world, "+12015550199", "someone else")
        target = the_contact(session)
    queued(
        session,
        world,
        target,
        purpose=MessagePurpose.NOTIFY if unlike == "a notification" else MessagePurpose.RELAY,
        to=world.family_phone if unlike == "to another number" else world.client_phone,
        staff=world.backup_cm if unlike == "from someone else" else world.case_manager,
        status="delivered" if unlike == "delivered" else "undelivered",
        now=contact.created_at,
    )
    part = queued(
        session,
        world,
        contact,
        purpose=MessagePurpose.RELAY,
        to=world.client_phone,
        staff=world.case_manager,
        created_at=contact.created_at
        + (timedelta(seconds=1) if unlike == "sent a second later" else timedelta()),
    )
    fails(session, app, part)
    assert len(outbox(session, MessagePurpose.COMMAND_REPLY, world.case_manager.phone)) == 1


def test_a_reply_from_nobody_that_did_not_reach_the_client_tells_nobody(
    app, world, session, contact
):
    part = queued(session, world, contact, purpose=MessagePurpose.RELAY, to=world.client_phone)
    fails(session, app, part)
    assert outbox(session, MessagePurpose.COMMAND_REPLY) == []
    assert len(events(session, contact.id, "delivery_failed")) == 1
    assert the_contact(session).level == 1


def test_the_clients_words_not_reaching_their_holder_pass_the_contact_on(
    app, world, session, contact, clock
):
    held_by_the_case_manager(session, world, contact, clock)
    words = dict(
        purpose=MessagePurpose.RELAY,
        to=world.case_manager.phone,
        staff=world.case_manager,
        level=1,
    )
    first_part = queued(session, world, contact, **words)
    second_part = queued(session, world, contact, **words)
    clock.advance(minutes=3)
    fails(session, app, first_part)
    after = the_contact(session)
    assert (after.status, after.acknowledged_by, after.level) == ("open", None, 2)
    [passed] = events(session, contact.id, "passed")
    assert passed.staff_id == world.case_manager.id
    assert passed.at.replace(tzinfo=None) == clock.now.replace(tzinfo=None)
    assert passed.data == {"reason": "relay_failed"}
    assert events(session, contact.id, "escalated")[0].data["reason"] == "delivery_failed"
    fails(session, app, second_part)
    assert the_contact(session).level == 2


def test_the_clients_words_not_reaching_someone_who_does_not_hold_it_leave_the_holder(
    app, world, session, contact, clock
):
    held_by_the_case_manager(session, world, contact, clock)
    part = queued(
        session,
        world,
        contact,
        purpose=MessagePurpose.RELAY,
        to=world.backup_cm.phone,
        staff=world.backup_cm,
    )
    fails(session, app, part)
    after = the_contact(session)
    assert (after.status, after.acknowledged_by, after.level) == (
        "acknowledged",
        world.case_manager.id,
        1,
    )
    assert events(session, contact.id, "passed") == []


def test_the_clients_words_not_reaching_anyone_paged_pass_the_level_once(
    app, world, session, contact
):
    words = dict(purpose=MessagePurpose.RELAY, to=world.team.fallback_number)
    first_part = queued(session, world, contact, **words)
    second_part = queued(session, world, contact, **words)
    fails(session, app, first_part)
    assert the_contact(session).level == 2
    fails(session, app, second_part)
    assert the_contact(session).level == 2
    assert events(session, contact.id, "passed") == []
