"""The board: live contacts of the team, newest activity first, with names
not ids; a case manager sees only what they are paged for, hold, or their
own clients' contacts."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.console.conftest import sign_in
from tests.factories import make_client, make_contact


def _card_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/console/contacts/(\d+)"', html)]


def _contacts(session, world, clock):
    now = clock.now
    stranger = make_client(session, world.team, preferred_name="Kim")  # nobody's caseload
    level1 = [{"level": 1, "kind": "rota", "staff_ids": [world.oncall.id], "label": "Primary"}]
    paged = make_contact(
        session,
        world.team,
        created_at=now - timedelta(minutes=30),
        updated_at=now - timedelta(minutes=1),
        plan=level1,
        client_id=stranger.id,
        events=[
            ("received", now - timedelta(minutes=30), {"data": {"body": "help me please"}}),
            ("notified", now - timedelta(minutes=29), {"staff_id": world.oncall.id, "level": 1}),
        ],
    )
    own_client = make_contact(
        session,
        world.team,
        created_at=now - timedelta(minutes=10),
        updated_at=now - timedelta(minutes=5),
        status="acknowledged",
        acknowledged_by=world.supervisor.id,
        client_id=world.client_row.id,
    )
    unknown_unanswered = make_contact(
        session,
        world.team,
        created_at=now - timedelta(hours=2),
        updated_at=now - timedelta(minutes=20),
        status="unanswered",
    )
    resolved = make_contact(
        session, world.team, created_at=now - timedelta(minutes=3), status="resolved"
    )
    other_team = make_contact(session, world.other_team, created_at=now - timedelta(minutes=2))
    session.commit()
    return paged, own_client, unknown_unanswered, resolved, other_team


def test_a_supervisor_sees_the_team_live_contacts_newest_activity_first(
    client, db, world, session, clock
):
    paged, own_client, unanswered, resolved, other_team = _contacts(session, world, clock)
    sign_in(client, db, world.supervisor)
    page = client.get("/console")
    assert page.headers["cache-control"] == "no-store"
    assert _card_ids(page.text) == [paged.id, own_client.id, unanswered.id]
    assert "Owen Call" in page.text  # who is paged, by name
    assert "Sue Visor" in page.text  # who holds it
    assert "help me please" in page.text  # last words
    assert f"#{unanswered.id} unknown" in page.text
    assert _card_ids(client.get("/console/board").text) == _card_ids(page.text)


def test_a_case_manager_sees_what_they_are_paged_for_hold_or_their_clients(
    client, db, world, session, clock
):
    paged, own_client, unanswered, _, _ = _contacts(session, world, clock)
    sign_in(client, db, world.oncall)
    assert _card_ids(client.get("/console").text) == [paged.id]
    client.cookies.clear()
    sign_in(client, db, world.case_manager)  # Sam's case manager
    assert _card_ids(client.get("/console/board").text) == [own_client.id]
