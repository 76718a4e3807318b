"""An unanswered contact alerts the supervisors again every
`unanswered_repeat_seconds` until someone takes or resolves it."""

from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import Contact
from tests.conftest import auth
from tests.world import text_in, tick


def the_contact(session) -> Contact:
    session.expire_all()
    return session.execute(select(Contact)).scalars().one()


def unanswered(client, world, session, clock, app) -> Contact:
    """A contact walked to the end of its plan (every level timed out)."""
    text_in(client, world, world.client_phone, "please help")
    for _ in range(4):
        clock.advance(seconds=301)
        tick(app)
    contact = the_contact(session)
    assert contact.status == "unanswered"
    return contact


def alerts_after(twilio, world, clock, app, *, seconds: int) -> int:
    """How many alerts the supervisor has had once `seconds` more have passed."""
    clock.advance(seconds=seconds)
    tick(app)
    return len(alerts(twilio, world))


def alerts(twilio, world) -> list[str]:
    return [m.body for m in twilio.to(world.supervisor.phone) if "UNANSWERED" in m.body]


def test_supervisors_are_alerted_again_every_repeat_until_someone_takes_it(
    client, world, session, twilio, clock, app
):
    r = client.patch(
        f"/v1/teams/{world.team.id}",
        headers=auth(world.supervisor_key),
        json={"unanswered_repeat_seconds": 600},
    )
    assert r.status_code == 200 and r.json()["unanswered_repeat_seconds"] == 600
    contact = unanswered(client, world, session, clock, app)
    assert len(alerts(twilio, world)) == 1
    assert alerts_after(twilio, world, clock, app, seconds=599) == 1
    assert alerts_after(twilio, world, clock, app, seconds=2) == 2
    assert alerts(twilio, world)[-1].startswith(f"STILL UNANSWERED #{contact.id}")
    assert alerts_after(twilio, world, clock, app, seconds=601) == 3
    # Someone takes it: the alerts stop, and the client still hears from them.
    r = client.post(
        f"/v1/contacts/{contact.id}/acknowledge",
        headers=auth(world.supervisor_key),
        json={"staff_id": world.supervisor.id},
    )
    assert r.status_code == 200, r.text
    assert alerts_after(twilio, world, clock, app, seconds=3600) == 3
    assert the_contact(session).status == "acknowledged"


def test_the_default_repeat_is_fifteen_minutes_and_resolving_stops_it(
    client, world, session, twilio, clock, app
):
    contact = unanswered(client, world, session, clock, app)
    assert alerts_after(twilio, world, clock, app, seconds=901) == 2
    r = client.post(
        f"/v1/contacts/{contact.id}/resolve",
        headers=auth(world.supervisor_key),
        json={"outcome": "unable_to_reach", "risk_level": "low", "staff_id": world.supervisor.id},
    )
    assert r.status_code == 200, r.text
    assert alerts_after(twilio, world, clock, app, seconds=3600) == 2


def test_repeat_setting_is_validated(client, world):
    r = client.patch(
        f"/v1/teams/{world.team.id}",
        headers=auth(world.supervisor_key),
        json={"unanswered_repeat_seconds": 5},
    )
    assert r.status_code == 422 and "unanswered_repeat_seconds" in str(r.json()["detail"])
    r = client.patch(
        f"/v1/teams/{world.team.id}",
        headers=auth(world.supervisor_key),
        json={"reply_timeout_seconds": 60},
    )
    assert r.status_code == 422 and "reply_timeout_seconds" in str(r.json()["detail"])
