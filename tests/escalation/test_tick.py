"""The escalation tick's own rules (app.escalation.tick): which contacts it
takes, in what order and in what batches, what it counts, what a contact
whose step fails gets, and how long a level whose notifications have not
left waits. Written for the mutation run of tick.py (tests/MUTATION.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.contacts.models import Contact, ContactEvent
from app.escalation import tick as tick_module
from app.escalation.tick import NOT_SENT_POLL
from app.messaging.models import MessagePurpose, OutboundMessage
from tests.factories import make_contact
from tests.world import text_in

NUMBERS = ("+12015550150", "+12015550197", "+12015550198")


def run_tick(app, batch: int = 100) -> int:
    runtime = app.state.runtime
    advanced = tick_module.tick(
        db=runtime.db, now=runtime.now(), settings=runtime.settings, batch=batch
    )
    runtime.dispatcher.drain()
    return advanced


def texted_in(client, world, session, numbers=NUMBERS) -> list[Contact]:
    """One open contact at level 1 per number, their notifications sent."""
    for number in numbers:
        text_in(client, world, number, "please help")
    session.expire_all()
    found = list(session.execute(select(Contact).order_by(Contact.id)).scalars())
    assert [c.level for c in found] == [1] * len(numbers)
    return found


def naive(at):
    return at.replace(tzinfo=None)


def escalations(session) -> list[ContactEvent]:
    session.expire_all()
    return list(
        session.execute(
            select(ContactEvent).where(ContactEvent.kind == "escalated").order_by(ContactEvent.id)
        ).scalars()
    )


def test_a_contact_due_exactly_now_is_passed_on_for_its_timeout(app, client, world, session, clock):
    [contact] = texted_in(client, world, session, NUMBERS[:1])
    assert naive(contact.next_escalation_at) == naive(clock.now + timedelta(seconds=300))
    clock.advance(seconds=299)
    assert run_tick(app) == 0
    clock.advance(seconds=1)
    assert run_tick(app) == 1
    [escalated] = escalations(session)
    assert (escalated.contact_id, escalated.data["reason"]) == (contact.id, "timeout")
    assert session.get(Contact, contact.id).level == 2


def test_every_due_contact_is_passed_on_batch_by_batch_earliest_due_first(
    app, client, world, session, clock
):
    first, second, third = texted_in(client, world, session)
    clock.advance(seconds=400)
    for contact, seconds_ago in ((first, 1), (second, 3), (third, 2)):
        contact.next_escalation_at = clock.now - timedelta(seconds=seconds_ago)
        session.add(contact)
    session.commit()
    # A batch as long as the due contacts but one: a full batch means look again.
    assert run_tick(app, batch=2) == 3
    assert [e.contact_id for e in escalations(session)] == [second.id, third.id, first.id]


def test_a_contact_whose_step_fails_is_tried_again_in_five_seconds_and_the_others_go_on(
    app, client, world, session, clock, monkeypatch
):
    broken, fine = texted_in(client, world, session, NUMBERS[:2])
    real_advance = tick_module.advance

    def advance(*, contact, **kwargs):
        if contact.id == broken.id:
            raise RuntimeError("a bug")
        return real_advance(contact=contact, **kwargs)

    monkeypatch.setattr(tick_module, "advance", advance)
    clock.advance(seconds=300)
    assert run_tick(app) == 1
    session.expire_all()
    after = session.get(Contact, broken.id)
    assert (after.level, naive(after.next_escalation_at)) == (
        1,
        naive(clock.now + timedelta(seconds=5)),
    )
    assert session.get(Contact, fine.id).level == 2


def notification_of(session, contact) -> OutboundMessage:
    [note] = session.execute(
        select(OutboundMessage).where(
            OutboundMessage.contact_id == contact.id,
            OutboundMessage.purpose == MessagePurpose.NOTIFY,
        )
    ).scalars()
    return note


@pytest.mark.parametrize("status", ["pending", "sending"])
def test_a_level_whose_notification_has_not_left_is_looked_at_again_shortly(
    app, client, world, session, clock, status
):
    [contact] = texted_in(client, world, session, NUMBERS[:1])
    note = notification_of(session, contact)
    note.status = status
    session.add(note)
    session.commit()
    clock.advance(seconds=400)
    assert run_tick(app) == 0
    session.expire_all()
    after = session.get(Contact, contact.id)
    assert (after.level, naive(after.next_escalation_at)) == (1, naive(clock.now + NOT_SENT_POLL))


def test_another_contacts_notification_not_yet_sent_does_not_hold_a_level(
    app, client, world, session, clock
):
    contact, other = texted_in(client, world, session, NUMBERS[:2])
    note = notification_of(session, other)
    note.status = "pending"
    session.add(note)
    other.next_escalation_at = clock.now + timedelta(hours=1)
    session.add(other)
    session.commit()
    clock.advance(seconds=300)
    assert run_tick(app) == 1
    session.expire_all()
    assert session.get(Contact, contact.id).level == 2


def test_a_priority_raised_by_a_later_text_is_not_undone_by_the_tick(
    app, client, world, session, clock
):
    # The plan keeps the level's 300 s; the raised deadline is 60 s after the
    # second text. The tick once counted the 300 s from when the notification
    # left and put the deadline back. Whether only calls reach the level reads
    # the team too (the priority minimum of each person's rules).
    [contact] = texted_in(client, world, session, NUMBERS[:1])
    clock.advance(seconds=10)
    text_in(client, world, NUMBERS[0], "I took an overdose")
    session.expire_all()
    contact = session.get(Contact, contact.id)
    assert contact.priority == "high"
    assert naive(contact.next_escalation_at) == naive(clock.now + timedelta(seconds=60))
    clock.now = contact.next_escalation_at
    assert run_tick(app) == 1
    session.expire_all()
    assert session.get(Contact, contact.id).level == 2


@pytest.mark.parametrize("whose", ["the level before", "this level before it began"])
def test_a_notification_not_yet_sent_holds_only_the_level_that_sent_it(
    app, client, world, session, clock, whose
):
    [contact] = texted_in(client, world, session, NUMBERS[:1])
    began = clock.now
    clock.advance(seconds=300)
    assert run_tick(app) == 1
    session.add(
        OutboundMessage(
            team_id=world.team.id,
            contact_id=contact.id,
            staff_id=world.supervisor.id,
            level=1 if whose == "the level before" else 2,
            purpose=MessagePurpose.NOTIFY,
            to_number=world.supervisor.phone,
            from_number=world.team.crisis_line_number,
            body="words",
            status="pending",
            next_attempt_at=clock.now + timedelta(hours=1),
            # The level before's, queued after this level began; or this
            # level's, queued before it began (a replanned contact reuses numbers).
            created_at=clock.now if whose == "the level before" else began,
            updated_at=clock.now,
        )
    )
    session.commit()
    clock.advance(seconds=300)
    assert run_tick(app) == 1
    session.expire_all()
    assert session.get(Contact, contact.id).level == 3


def test_a_due_contact_with_no_level_left_loses_its_deadline(app, world, session, clock):
    # Not looked at again every tick: nothing is left to do for it.
    contact = make_contact(
        session,
        world.team,
        created_at=clock.now,
        plan=[],
        next_escalation_at=clock.now - timedelta(seconds=1),
    )
    session.commit()
    assert run_tick(app) == 0
    session.expire_all()
    after = session.get(Contact, contact.id)
    assert (after.status, after.next_escalation_at) == ("open", None)
