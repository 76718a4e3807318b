"""API keys: listed without the key, revoked or expired at once on every
instance, dead with their staff member, last use recorded coarsely."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from app.auth.models import ApiKey, AuditLog
from tests.conftest import PUBLIC_BASE_URL, auth
from tests.factories import make_key, make_staff, make_team
from tests.security.conftest import NOW


def _key_id(session, key: str) -> int:
    from app.auth.service import hash_key

    return session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).one().id


def test_list_shows_metadata_only_and_each_team_its_own(client, session, clock, admin_key):
    team, other = make_team(session), make_team(session)
    cm = make_staff(session, team)
    sup = make_key(session, "supervisor", team)
    cm_key = make_key(session, "case_manager", team, cm)
    other_key = make_key(session, "supervisor", other)
    session.commit()

    r = client.get("/v1/keys", headers=auth(sup))
    assert r.status_code == 200, r.text
    ids = {k["id"] for k in r.json()}
    assert ids == {_key_id(session, sup), _key_id(session, cm_key)}
    body = r.text
    for secret in (sup, cm_key, other_key):
        assert secret not in body
    for row in session.exec(select(ApiKey)):
        assert row.key_hash not in body
    listed = next(k for k in r.json() if k["id"] == _key_id(session, cm_key))
    assert listed["role"] == "case_manager" and listed["staff_id"] == cm.id
    assert set(listed) >= {"prefix", "created_at", "expires_at", "revoked_at", "last_used_at"}
    assert "key" not in listed and "key_hash" not in listed
    # Admin sees every team's keys; a case manager may not list keys.
    assert len(client.get("/v1/keys", headers=auth(admin_key)).json()) == 4
    assert client.get("/v1/keys", headers=auth(cm_key)).status_code == 403


def test_a_revoked_key_is_refused_at_once_on_every_instance(client, app, db, session, clock):
    from app.main import create_app

    team = make_team(session)
    sup = make_key(session, "supervisor", team)
    victim = make_key(session, "supervisor", team)
    session.commit()
    victim_id = _key_id(session, victim)
    second = create_app(app.state.settings, db=db, run_worker=False, configure_logs=False)
    second.state.runtime.clock = clock
    with TestClient(second, base_url=PUBLIC_BASE_URL) as other_instance:
        # The other instance has just used the key (anything it might cache is warm).
        assert other_instance.get(f"/v1/teams/{team.id}", headers=auth(victim)).status_code == 200
        assert client.delete(f"/v1/keys/{victim_id}", headers=auth(sup)).status_code == 204
        r = other_instance.get(f"/v1/teams/{team.id}", headers=auth(victim))
        assert r.status_code == 401
        assert client.get(f"/v1/teams/{team.id}", headers=auth(victim)).status_code == 401
    audit = session.exec(select(AuditLog).where(AuditLog.action == "api_key.revoke")).all()
    assert [a.record_id for a in audit] == [victim_id]
    # Revoking again changes nothing (and is not audited twice).
    assert client.delete(f"/v1/keys/{victim_id}", headers=auth(sup)).status_code == 204
    assert len(session.exec(select(AuditLog).where(AuditLog.action == "api_key.revoke")).all()) == 1


def test_revoke_is_scoped(client, session, clock, admin_key):
    team, other = make_team(session), make_team(session)
    sup = make_key(session, "supervisor", team)
    other_sup = make_key(session, "supervisor", other)
    cm = make_key(session, "case_manager", team, make_staff(session, team))
    session.commit()
    # Another team's key: 404 (ids do not leak), and it still works.
    assert (
        client.delete(f"/v1/keys/{_key_id(session, other_sup)}", headers=auth(sup)).status_code
        == 404
    )
    assert client.get(f"/v1/teams/{other.id}", headers=auth(other_sup)).status_code == 200
    # An admin key cannot be revoked by a supervisor; a case manager revokes nothing.
    admin_id = _key_id(session, admin_key)
    assert client.delete(f"/v1/keys/{admin_id}", headers=auth(sup)).status_code == 404
    assert client.delete(f"/v1/keys/{_key_id(session, sup)}", headers=auth(cm)).status_code == 403
    assert client.get("/v1/keys", headers=auth(admin_key)).status_code == 200


def test_an_expired_key_is_refused(client, session, clock, admin_key):
    team = make_team(session)
    session.commit()
    r = client.post(
        "/v1/keys",
        json={
            "name": "temp",
            "role": "supervisor",
            "team_id": team.id,
            "expires_at": (NOW + timedelta(hours=1)).isoformat(),
        },
        headers=auth(admin_key),
    )
    assert r.status_code == 201, r.text
    temp = r.json()["key"]
    assert client.get(f"/v1/teams/{team.id}", headers=auth(temp)).status_code == 200
    clock.advance(hours=1)
    r = client.get(f"/v1/teams/{team.id}", headers=auth(temp))
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    # An expiry in the past or without an offset is refused, naming the field.
    for bad in ((NOW - timedelta(days=1)).isoformat(), "2027-01-01T00:00:00"):
        r = client.post(
            "/v1/keys",
            json={"name": "x", "role": "supervisor", "team_id": team.id, "expires_at": bad},
            headers=auth(admin_key),
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "expires_at"


def test_a_deactivated_staff_members_key_stops_working(client, session, clock):
    team = make_team(session)
    sup = make_key(session, "supervisor", team)
    leaver = make_staff(session, team, name="Leaver")
    cm_key = make_key(session, "case_manager", team, leaver)
    session.commit()
    assert client.get(f"/v1/teams/{team.id}", headers=auth(cm_key)).status_code == 200
    r = client.patch(f"/v1/staff/{leaver.id}", json={"active": False}, headers=auth(sup))
    assert r.status_code == 200, r.text
    assert client.get(f"/v1/teams/{team.id}", headers=auth(cm_key)).status_code == 401
    # No new key for a deactivated person either.
    r = client.post(
        "/v1/keys",
        json={"name": "x", "role": "case_manager", "team_id": team.id, "staff_id": leaver.id},
        headers=auth(sup),
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "staff_id"


def test_a_case_manager_key_without_staff_is_refused(client, session, clock, admin_key):
    from app.auth.service import create_key
    from app.errors import Invalid

    team = make_team(session)
    session.commit()
    r = client.post(
        "/v1/keys",
        json={"name": "cm", "role": "case_manager", "team_id": team.id},
        headers=auth(admin_key),
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "staff_id"
    with pytest.raises(Invalid):
        create_key(session=session, name="cm", role="case_manager", team_id=team.id)


def test_last_use_is_recorded_at_most_once_a_minute(client, session, clock):
    team = make_team(session)
    sup = make_key(session, "supervisor", team)
    session.commit()
    key_id = _key_id(session, sup)

    def last_used():
        session.expire_all()
        return session.get(ApiKey, key_id).last_used_at

    assert last_used() is None
    client.get(f"/v1/teams/{team.id}", headers=auth(sup))
    assert last_used() == NOW
    clock.advance(seconds=30)
    for _ in range(5):
        client.get(f"/v1/teams/{team.id}", headers=auth(sup))
    assert last_used() == NOW
    clock.advance(seconds=31)
    client.get(f"/v1/teams/{team.id}", headers=auth(sup))
    assert last_used() == NOW + timedelta(seconds=61)


def test_cli_lists_and_revokes(tmp_path, monkeypatch):
    from app.auth.service import find_key
    from app.cli import cli
    from app.db import Database

    url = f"sqlite:///{tmp_path}/keys.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("MESSAGING_TRANSPORT", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    created = runner.invoke(cli, ["keys", "create", "--role", "admin", "--name", "ops laptop"])
    key = created.output.strip().splitlines()[-1]
    listed = runner.invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0, listed.output
    assert "ops laptop" in listed.output and "active" in listed.output
    assert key not in listed.output
    revoked = runner.invoke(cli, ["keys", "revoke", "1"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert "revoked" in runner.invoke(cli, ["keys", "list"]).output
    database = Database.from_url(url)
    with database.session() as s:
        assert find_key(session=s, key=key, now=datetime.now(UTC)) is None
    database.engine.dispose()
    missing = runner.invoke(cli, ["keys", "revoke", "99"])
    assert missing.exit_code == 2
