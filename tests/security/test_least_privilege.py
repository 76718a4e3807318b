"""A case manager's key reads what their work needs and nothing else;
break-glass reads are allowed with a reason, audited, and alert supervisors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import select

from app.auth.models import AuditLog
from app.clients.models import CrisisPlan
from app.messaging.models import OutboundMessage
from tests.conftest import auth
from tests.factories import make_client, make_contact, make_key, make_staff, make_team
from tests.security.conftest import NOW


@dataclass
class World:
    team: object
    other: object
    supervisor: object
    alice: object  # assigned case manager of `mine`
    bob: object  # backup case manager of `mine`
    carol: object  # on call: paged for `paged` (a contact of `theirs`)
    mine: object
    theirs: object
    foreign: object  # another team's client
    paged: object
    held: object  # a contact of nobody's client, held by carol
    unrelated: object  # a contact of `theirs` nobody here was paged for
    sup_key: str
    alice_key: str
    bob_key: str
    carol_key: str
    other_sup_key: str


@pytest.fixture
def world(session, client, clock) -> World:
    team, other = make_team(session, name="North"), make_team(session, name="South")
    supervisor = make_staff(session, team, name="Sue Super", role="supervisor")
    alice = make_staff(session, team, name="Alice")
    bob = make_staff(session, team, name="Bob")
    carol = make_staff(session, team, name="Carol")
    dave = make_staff(session, team, name="Dave")
    mine = make_client(
        session,
        team,
        preferred_name="Mine",
        assigned_case_manager_id=alice.id,
        backup_case_manager_id=bob.id,
    )
    theirs = make_client(session, team, preferred_name="Theirs", assigned_case_manager_id=dave.id)
    foreign = make_client(session, other, preferred_name="Foreign")
    for c in (mine, theirs, foreign):
        session.add(CrisisPlan(client_id=c.id, version=1, sections={"warning_signs": ["x"]}))
    paged = make_contact(
        session,
        team,
        created_at=NOW,
        client_id=theirs.id,
        events=[("notified", NOW, {"staff_id": carol.id, "level": 1})],
    )
    held = make_contact(
        session,
        team,
        created_at=NOW,
        status="acknowledged",
        acknowledged_by=carol.id,
        acknowledged_at=NOW,
    )
    unrelated = make_contact(
        session,
        team,
        created_at=NOW,
        client_id=theirs.id,
        events=[("notified", NOW, {"staff_id": dave.id, "level": 1})],
    )
    keys = dict(
        sup_key=make_key(session, "supervisor", team, supervisor),
        alice_key=make_key(session, "case_manager", team, alice),
        bob_key=make_key(session, "case_manager", team, bob),
        carol_key=make_key(session, "case_manager", team, carol),
        other_sup_key=make_key(session, "supervisor", other),
    )
    session.commit()
    return World(
        team,
        other,
        supervisor,
        alice,
        bob,
        carol,
        mine,
        theirs,
        foreign,
        paged,
        held,
        unrelated,
        **keys,
    )


def _client_reads(client_id: int) -> list[tuple[str, str]]:
    return [
        ("get", f"/v1/clients/{client_id}"),
        ("get", f"/v1/clients/{client_id}/crisis-plan"),
        ("get", f"/v1/clients/{client_id}/crisis-plan/versions"),
        ("post", f"/v1/clients/{client_id}/plan-links"),
        ("get", f"/v1/clients/{client_id}/events"),
    ]


def _status(client, method: str, path: str, key: str) -> int:
    return getattr(client, method)(path, headers=auth(key)).status_code


def test_assigned_and_backup_case_managers_read_their_clients_only(client, world):
    for key in (world.alice_key, world.bob_key):
        for method, path in _client_reads(world.mine.id):
            assert _status(client, method, path, key) in (200, 201), path
        for method, path in _client_reads(world.theirs.id) + _client_reads(world.foreign.id):
            assert _status(client, method, path, key) == 404, path
    # The supervisor reads the whole team, and no other team.
    for method, path in _client_reads(world.theirs.id):
        assert _status(client, method, path, world.sup_key) in (200, 201), path
    assert _status(client, "get", f"/v1/clients/{world.foreign.id}", world.sup_key) == 404


def test_client_list_is_the_case_managers_own(client, world):
    listed = client.get(f"/v1/teams/{world.team.id}/clients", headers=auth(world.alice_key))
    assert [c["id"] for c in listed.json()] == [world.mine.id]
    everyone = client.get(f"/v1/teams/{world.team.id}/clients", headers=auth(world.sup_key))
    assert {c["id"] for c in everyone.json()} == {world.mine.id, world.theirs.id}


def test_on_call_reads_the_client_of_an_open_contact_until_it_is_resolved(client, world, session):
    for method, path in _client_reads(world.theirs.id):
        assert _status(client, method, path, world.carol_key) in (200, 201), path
    assert _status(client, "get", f"/v1/contacts/{world.paged.id}", world.carol_key) == 200
    r = client.post(
        f"/v1/contacts/{world.paged.id}/resolve",
        json={"outcome": "resolved_by_phone", "risk_level": "low"},
        headers=auth(world.carol_key),
    )
    assert r.status_code == 200, r.text
    # The contact stays hers to read; the client's plan no longer is.
    assert _status(client, "get", f"/v1/contacts/{world.paged.id}", world.carol_key) == 200
    for method, path in _client_reads(world.theirs.id):
        assert _status(client, method, path, world.carol_key) == 404, path


def test_contacts_paged_for_held_or_of_own_clients(client, world, session):
    mine_contact = make_contact(session, world.team, created_at=NOW, client_id=world.mine.id)
    session.commit()
    reachable = {
        world.alice_key: {mine_contact.id},
        world.carol_key: {world.paged.id, world.held.id},
    }
    every = {mine_contact.id, world.paged.id, world.held.id, world.unrelated.id}
    for key, allowed in reachable.items():
        for contact_id in every:
            expected = 200 if contact_id in allowed else 404
            assert _status(client, "get", f"/v1/contacts/{contact_id}", key) == expected
        listed = client.get(f"/v1/contacts?team_id={world.team.id}", headers=auth(key)).json()
        assert {c["id"] for c in listed["items"]} == allowed
        # Acting on a contact one may not read is refused the same way.
        r = client.post(f"/v1/contacts/{world.unrelated.id}/acknowledge", headers=auth(key))
        assert r.status_code == 404
    listed = client.get("/v1/contacts", headers=auth(world.sup_key)).json()
    assert {c["id"] for c in listed["items"]} == every


def test_break_glass_reads_with_a_reason_audits_and_alerts_supervisors(client, world, session):
    path = f"/v1/clients/{world.theirs.id}/crisis-plan/break-glass"
    assert client.post(path, json={}, headers=auth(world.alice_key)).status_code == 422
    r = client.post(path, json={"reason": "x"}, headers=auth(world.alice_key))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "reason"
    assert not session.exec(select(AuditLog).where(AuditLog.action == "break_glass.read")).all()

    reason = "client at ER, on-call unreachable, need hospital preference"
    r = client.post(path, json={"reason": reason}, headers=auth(world.alice_key))
    assert r.status_code == 200, r.text
    assert r.json()["client_id"] == world.theirs.id
    glass = session.exec(select(AuditLog).where(AuditLog.action == "break_glass.read")).one()
    assert glass.detail["reason"] == reason and glass.record_id == world.theirs.id
    assert glass.actor_role == "case_manager"
    reads = session.exec(select(AuditLog).where(AuditLog.action == "crisis_plan.read")).all()
    assert [a.detail["via"] for a in reads] == ["break_glass"]
    alerts = session.exec(select(OutboundMessage).where(OutboundMessage.purpose == "alert")).all()
    assert [m.to_number for m in alerts] == [world.supervisor.phone]
    assert "BREAK-GLASS" in alerts[0].body and "Alice" in alerts[0].body
    assert reason not in alerts[0].body
    # Not past the team boundary, reason or not.
    r = client.post(
        f"/v1/clients/{world.foreign.id}/crisis-plan/break-glass",
        json={"reason": reason},
        headers=auth(world.alice_key),
    )
    assert r.status_code == 404


def test_break_glass_on_a_contact(client, world, session):
    reason = "caller says Dave is unreachable and asked for me"
    r = client.post(
        f"/v1/contacts/{world.unrelated.id}/break-glass",
        json={"reason": reason},
        headers=auth(world.alice_key),
    )
    assert r.status_code == 200 and r.json()["id"] == world.unrelated.id
    glass = session.exec(select(AuditLog).where(AuditLog.action == "break_glass.read")).one()
    assert glass.record_type == "contact" and glass.detail["reason"] == reason
    assert session.exec(select(OutboundMessage).where(OutboundMessage.purpose == "alert")).all()
