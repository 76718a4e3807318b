"""A holder whose shift ends is asked to KEEP the contact; without KEEP it
passes to whoever is on call now."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.contacts.models import Contact, ContactEvent
from app.oncall.models import Rota, RotaOverride
from tests.factories import make_staff
from tests.world import text_in


def the_contact(session) -> Contact:
    session.expire_all()
    return session.execute(select(Contact)).scalars().one()


def check(app) -> None:
    from app.escalation.handover import check_holders

    runtime = app.state.runtime
    with runtime.db.session() as s:
        check_holders(session=s, now=runtime.now(), settings=runtime.settings)
    runtime.dispatcher.drain()


def nia_takes_the_rota(session, world, clock, *, after: timedelta, reason: str | None = None):
    """Nia Next has the primary rota from `after` from now until nine hours from now."""
    nia = make_staff(session, world.team, name="Nia Next", phone="+12015550189")
    rota = session.execute(select(Rota)).scalars().one()
    session.add(
        RotaOverride(
            rota_id=rota.id,
            staff_id=nia.id,
            start=clock.now + after,
            end=clock.now + timedelta(hours=9),
            reason=reason,
        )
    )
    session.commit()
    return nia


def held_by_the_on_call(client, world, session, twilio, clock):
    """The on-call person takes an unknown caller's contact (the rota level)."""
    text_in(client, world, "+12015550177", "help me")
    contact = the_contact(session)
    assert contact.plan[0]["kind"] == "rota"
    text_in(client, world, world.oncall.phone, "I am here, what is happening?")
    contact = the_contact(session)
    assert contact.acknowledged_by == world.oncall.id
    # From an hour on, someone else has the primary rota.
    nia = nia_takes_the_rota(session, world, clock, after=timedelta(hours=1), reason="evening")
    return contact, nia


def test_a_holder_whose_rota_turn_ends_is_asked_and_without_keep_the_contact_passes(
    client, world, session, twilio, clock, app
):
    contact, nia = held_by_the_on_call(client, world, session, twilio, clock)
    check(app)
    assert not any("shift ended" in m.body for m in twilio.to(world.oncall.phone))
    clock.advance(hours=1, seconds=1)
    check(app)
    asked = twilio.to(world.oncall.phone)[-1].body
    assert asked == (
        f"#{contact.id}: your shift ended. Reply KEEP to stay with it, "
        "or it passes to Nia Next in 10 min"
    )
    assert the_contact(session).status == "acknowledged"
    clock.advance(minutes=9)
    check(app)
    assert the_contact(session).acknowledged_by == world.oncall.id
    clock.advance(minutes=1, seconds=1)
    check(app)
    after = the_contact(session)
    assert after.status == "open" and after.acknowledged_by is None
    told = twilio.to(nia.phone)
    assert len(told) == 1 and f"#{contact.id}" in told[0].body
    assert "moved" in twilio.to(world.oncall.phone)[-1].body
    session.expire_all()
    handed = (
        session.execute(select(ContactEvent).where(ContactEvent.kind == "handed_over"))
        .scalars()
        .all()
    )
    assert [(e.data["reason"], e.staff_id) for e in handed] == [("shift_ended", world.oncall.id)]


def test_keep_after_the_shift_ends_keeps_the_contact(client, world, session, twilio, clock, app):
    contact, nia = held_by_the_on_call(client, world, session, twilio, clock)
    clock.advance(hours=1, seconds=1)
    check(app)
    text_in(client, world, world.oncall.phone, "KEEP")
    clock.advance(minutes=30)
    check(app)
    after = the_contact(session)
    assert after.status == "acknowledged" and after.acknowledged_by == world.oncall.id
    assert twilio.to(nia.phone) == []
