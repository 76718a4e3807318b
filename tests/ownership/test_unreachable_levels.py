"""A level nobody on it can be reached on is skipped at once, with why, and
the supervisors are told who could not be reached."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.contacts.models import Contact, ContactEvent
from app.routing import unreachable_reason
from app.teams.models import Leave
from tests.conftest import auth
from tests.world import only_texts_and_opted_out, text_in, tick


def the_contact(session) -> Contact:
    session.expire_all()
    return session.execute(select(Contact)).scalars().one()


def events(session, kind: str) -> list[ContactEvent]:
    session.expire_all()
    return list(
        session.execute(
            select(ContactEvent).where(ContactEvent.kind == kind).order_by(ContactEvent.id)
        ).scalars()
    )


def test_reachable_is_one_rule():
    assert unreachable_reason(active=True, on_leave=False, sms_ok=True) is None
    assert unreachable_reason(active=False, on_leave=False, sms_ok=True) == "deactivated"
    assert unreachable_reason(active=True, on_leave=True, sms_ok=True) == "on_leave"
    assert unreachable_reason(active=True, on_leave=False, sms_ok=False) == "opted_out"
    # A call rule, or a call to be made, does not need SMS consent.
    assert unreachable_reason(active=True, on_leave=False, sms_ok=False, call_rule=True) is None
    assert unreachable_reason(active=True, on_leave=False, sms_ok=False, needs_sms=False) is None


def test_a_level_whose_people_all_became_unreachable_is_skipped_in_the_same_tick(
    client, world, session, twilio, clock, app
):
    text_in(client, world, world.client_phone, "please help")
    assert len(twilio.to(world.case_manager.phone)) == 1
    # While level 1 has its time, the backup case manager (level 2) opts out,
    # and texts were their only way to be woken (no call rule).
    only_texts_and_opted_out(session, world.backup_cm)
    clock.advance(seconds=301)
    tick(app)
    # Level 2 is skipped at once: the on-call person (level 3) is told now, not 300 s later.
    assert twilio.to(world.backup_cm.phone) == []
    assert len(twilio.to(world.oncall.phone)) == 1
    contact = the_contact(session)
    assert contact.level == 3
    skipped = events(session, "level_skipped")
    assert [(e.level, e.data["unreachable"]) for e in skipped] == [
        (2, [{"staff_id": world.backup_cm.id, "reason": "opted_out"}])
    ]
    suppressed = events(session, "notify_suppressed")
    assert [(e.staff_id, e.data["reason"]) for e in suppressed] == [
        (world.backup_cm.id, "opted_out")
    ]
    alert = twilio.to(world.supervisor.phone)[-1].body
    assert f"#{contact.id}" in alert and "Bea Backup opted out" in alert
    # The contact API shows the suppressed notification and the skip.
    detail = client.get(f"/v1/contacts/{contact.id}", headers=auth(world.supervisor_key)).json()
    kinds = [e["kind"] for e in detail["events"]]
    assert "notify_suppressed" in kinds and "level_skipped" in kinds


def test_leave_and_deactivation_skip_a_level_too(client, world, session, twilio, clock, app):
    text_in(client, world, world.client_phone, "please help")
    session.add(
        Leave(
            staff_id=world.backup_cm.id,
            start=clock.now,
            end=clock.now + timedelta(days=3),
        )
    )
    world.oncall.active = False
    session.add(world.oncall)
    session.commit()
    clock.advance(seconds=301)
    tick(app)
    # Levels 2 (on leave) and 3 (deactivated) both skipped: the supervisors' level is told.
    assert the_contact(session).level == 4
    reasons = [e.data["unreachable"][0]["reason"] for e in events(session, "level_skipped")]
    assert reasons == ["on_leave", "deactivated"]
    assert any("CRISIS" in m.body for m in twilio.to(world.supervisor.phone))


def test_levels_nobody_could_be_reached_on_when_planning_are_on_the_timeline(
    client, world, session, twilio, clock, app
):
    for person in (world.case_manager, world.backup_cm, world.oncall):
        person.sms_opted_out = True
        person.notify_rules = [{"channel": "sms", "after_seconds": 0}]  # no call wakes them
        session.add(person)
    session.commit()
    text_in(client, world, world.client_phone, "please help")
    contact = the_contact(session)
    # Only the supervisors are left to try; the three others are recorded with why.
    assert contact.level == 1 and contact.plan[0]["kind"] == "supervisors"
    skipped = events(session, "level_skipped")
    assert [e.data["label"] for e in skipped] == [
        "assigned case manager",
        "backup case manager",
        "primary on-call",
    ]
    assert all(e.data["unreachable"][0]["reason"] == "opted_out" for e in skipped)
