"""Only a person holds a contact: the API names one, the database insists."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.contacts.models import Contact
from tests.conftest import auth
from tests.factories import make_key, make_staff
from tests.world import text_in, tick


def the_contact(session) -> Contact:
    session.expire_all()
    return session.execute(select(Contact)).scalars().one()


def test_acknowledge_without_a_person_is_refused_and_the_contact_keeps_escalating(
    client, world, session, twilio, clock, app
):
    text_in(client, world, world.client_phone, "please help")
    contact = the_contact(session)
    r = client.post(f"/v1/contacts/{contact.id}/acknowledge", headers=auth(world.supervisor_key))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "staff_id"]
    assert the_contact(session).status == "open"
    # Nothing stopped: the next level is told when the first level's time is up.
    clock.advance(seconds=301)
    assert tick(app) == 1
    assert len(twilio.to(world.backup_cm.phone)) == 1


def test_acknowledge_names_the_person_and_the_api_shows_the_holder(client, world, session, twilio):
    text_in(client, world, world.client_phone, "please help")
    contact = the_contact(session)
    r = client.post(
        f"/v1/contacts/{contact.id}/acknowledge",
        headers=auth(world.supervisor_key),
        json={"staff_id": world.oncall.id},
    )
    assert r.status_code == 200, r.text
    assert r.json()["acknowledged_by"] == world.oncall.id
    detail = client.get(f"/v1/contacts/{contact.id}", headers=auth(world.supervisor_key)).json()
    assert detail["holder"] == {"id": world.oncall.id, "name": "Owen Call"}
    listing = client.get("/v1/contacts", headers=auth(world.supervisor_key)).json()
    assert listing["items"][0]["holder"]["id"] == world.oncall.id


def test_a_staff_bound_key_acknowledges_for_its_person(client, world, session, twilio):
    text_in(client, world, world.client_phone, "please help")
    contact = the_contact(session)
    key = make_key(session, "case_manager", world.team, world.case_manager)
    session.commit()
    r = client.post(f"/v1/contacts/{contact.id}/acknowledge", headers=auth(key))
    assert r.status_code == 200, r.text
    assert r.json()["holder"] == {"id": world.case_manager.id, "name": "Casey Manager"}


@pytest.mark.parametrize("who", ["deactivated", "other_team", "missing"])
def test_acknowledge_for_someone_who_cannot_hold_it_is_422_and_changes_nothing(
    client, world, session, twilio, who
):
    text_in(client, world, world.client_phone, "please help")
    contact = the_contact(session)
    if who == "deactivated":
        gone = make_staff(session, world.team, name="Gone", active=False)
        staff_id = gone.id
    elif who == "other_team":
        staff_id = make_staff(session, world.other_team, name="Elsewhere").id
    else:
        staff_id = 99999
    session.commit()
    r = client.post(
        f"/v1/contacts/{contact.id}/acknowledge",
        headers=auth(world.supervisor_key),
        json={"staff_id": staff_id},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "staff_id"]
    after = the_contact(session)
    assert after.status == "open" and after.acknowledged_by is None


def test_resolve_without_a_person_is_refused(client, world, session, twilio):
    text_in(client, world, world.client_phone, "please help")
    contact = the_contact(session)
    body = {"outcome": "resolved_by_phone", "risk_level": "low"}
    r = client.post(
        f"/v1/contacts/{contact.id}/resolve", headers=auth(world.supervisor_key), json=body
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "staff_id"]
    assert the_contact(session).status == "open"
    r = client.post(
        f"/v1/contacts/{contact.id}/resolve",
        headers=auth(world.supervisor_key),
        json={**body, "staff_id": world.supervisor.id},
    )
    assert r.status_code == 200, r.text
    assert r.json()["holder"] == {"id": world.supervisor.id, "name": "Sue Visor"}


def test_the_database_refuses_an_acknowledged_contact_without_a_holder(world, session):
    from datetime import UTC, datetime

    from app.contacts.models import Contact

    now = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
    session.add(
        Contact(
            team_id=world.team.id,
            channel="sms",
            from_number=world.client_phone,
            status="acknowledged",
            acknowledged_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
