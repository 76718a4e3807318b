"""A holder who stops answering, or can no longer be reached, hands the
contact on; every handover is on the timeline."""

from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import Contact, ContactEvent
from tests.conftest import auth
from tests.world import text_in, tick


def the_contact(session) -> Contact:
    session.expire_all()
    return session.execute(select(Contact)).scalars().one()


def kinds(session) -> list[str]:
    session.expire_all()
    return [
        e.kind for e in session.execute(select(ContactEvent).order_by(ContactEvent.id)).scalars()
    ]


def held_by_case_manager(client, world, session, twilio):
    text_in(client, world, world.client_phone, "please help")
    text_in(client, world, world.case_manager.phone, "Hi Sam, I am here")
    contact = the_contact(session)
    assert contact.status == "acknowledged" and contact.acknowledged_by == world.case_manager.id
    return contact


def test_a_holder_silent_for_two_reply_timeouts_loses_the_contact_to_the_next_level(
    client, world, session, twilio, clock, app
):
    contact = held_by_case_manager(client, world, session, twilio)
    clock.advance(seconds=30)
    text_in(client, world, world.client_phone, "are you still there? I took pills")
    before = len(twilio.to(world.case_manager.phone))
    clock.advance(seconds=599)
    tick(app)
    assert len(twilio.to(world.case_manager.phone)) == before
    clock.advance(seconds=2)
    tick(app)
    page = twilio.to(world.case_manager.phone)[-1].body
    assert page.startswith(f'#{contact.id} is waiting for you: "are you still there?')
    assert the_contact(session).status == "acknowledged"
    clock.advance(seconds=601)
    tick(app)
    after = the_contact(session)
    assert after.status == "open" and after.acknowledged_by is None and after.level == 2
    # The next level is told, with the link to the conversation and plan.
    told = twilio.to(world.backup_cm.phone)
    assert len(told) == 1 and f"#{contact.id}" in told[0].body and "https://" in told[0].body
    assert "moved" in twilio.to(world.case_manager.phone)[-1].body
    handed = [
        e
        for e in session.execute(select(ContactEvent).where(ContactEvent.kind == "handed_over"))
        .scalars()
        .all()
    ]
    assert [(e.data["reason"], e.staff_id) for e in handed] == [
        ("reply_timeout", world.case_manager.id)
    ]
    # The client's words are on the conversation the new level opens.
    detail = client.get(f"/v1/contacts/{contact.id}", headers=auth(world.supervisor_key)).json()
    assert any(
        e["kind"] == "received" and "I took pills" in e["data"].get("body", "")
        for e in detail["events"]
    )


def test_a_staff_reply_or_keep_resets_the_reply_timeout(client, world, session, twilio, clock, app):
    contact = held_by_case_manager(client, world, session, twilio)
    text_in(client, world, world.client_phone, "hello?")
    clock.advance(seconds=500)
    text_in(client, world, world.case_manager.phone, "Still here, one moment")
    clock.advance(seconds=500)
    tick(app)
    assert not any("waiting for you" in m.body for m in twilio.to(world.case_manager.phone))
    text_in(client, world, world.client_phone, "ok")
    clock.advance(seconds=601)
    tick(app)
    assert any("waiting for you" in m.body for m in twilio.to(world.case_manager.phone))
    text_in(client, world, world.case_manager.phone, "KEEP")
    assert "stays with you" in twilio.to(world.case_manager.phone)[-1].body
    clock.advance(seconds=1300)
    tick(app)
    held = the_contact(session)
    assert held.status == "acknowledged" and held.acknowledged_by == world.case_manager.id
    assert "kept" in kinds(session) and contact.id == held.id


def test_a_holder_who_texts_stop_hands_their_contact_on_at_once(
    client, world, session, twilio, clock, app
):
    contact = held_by_case_manager(client, world, session, twilio)
    text_in(client, world, world.case_manager.phone, "STOP")
    after = the_contact(session)
    assert after.status == "open" and after.acknowledged_by is None
    # Whoever is on call now is told at once, with the link.
    told = twilio.to(world.oncall.phone)
    assert len(told) == 1 and f"#{contact.id}" in told[0].body
    assert "handed_over" in kinds(session)


def test_deactivating_a_holder_hands_their_contact_on_at_once(
    client, world, session, twilio, clock, app
):
    from tests.factories import make_staff

    extra = make_staff(session, world.team, name="Temp Worker", phone="+12015550188")
    session.commit()
    text_in(client, world, world.client_phone, "please help")
    contact = the_contact(session)
    r = client.post(
        f"/v1/contacts/{contact.id}/acknowledge",
        headers=auth(world.supervisor_key),
        json={"staff_id": extra.id},
    )
    assert r.status_code == 200
    r = client.patch(
        f"/v1/staff/{extra.id}", headers=auth(world.supervisor_key), json={"active": False}
    )
    assert r.status_code == 200, r.text
    app.state.runtime.dispatcher.drain()
    after = the_contact(session)
    assert after.status == "open" and after.acknowledged_by is None
    assert len(twilio.to(world.oncall.phone)) == 1
