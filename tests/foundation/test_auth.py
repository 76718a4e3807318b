from sqlmodel import select

from app.auth.models import ApiKey, AuditLog
from tests.conftest import auth
from tests.factories import make_key, make_staff, make_team


def test_requests_without_or_with_bad_key_get_401(client):
    assert client.post("/v1/keys", json={"name": "x", "role": "admin"}).status_code == 401
    r = client.post("/v1/keys", json={"name": "x", "role": "admin"}, headers=auth("cr_wrong"))
    assert r.status_code == 401
    assert "invalid" in r.json()["detail"]


def test_keys_are_stored_hashed_and_shown_once(client, admin_key, session):
    r = client.post("/v1/keys", json={"name": "ops", "role": "admin"}, headers=auth(admin_key))
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    row = session.get(ApiKey, r.json()["id"])
    assert row.key_hash != key and key not in row.key_hash
    assert all(key not in (k.key_hash + k.prefix + k.name) for k in session.exec(select(ApiKey)))
    # The new key works.
    r2 = client.post("/v1/keys", json={"name": "ops2", "role": "admin"}, headers=auth(key))
    assert r2.status_code == 201
    assert (
        session.exec(select(AuditLog).where(AuditLog.action == "api_key.create")).first()
        is not None
    )


def test_roles_and_team_scope_on_key_creation(client, session):
    team, other = make_team(session), make_team(session)
    staff = make_staff(session, team)
    supervisor = make_key(session, "supervisor", team)
    case_manager = make_key(session, "case_manager", team, staff)
    session.commit()

    ok = client.post(
        "/v1/keys",
        json={"name": "cm", "role": "case_manager", "team_id": team.id, "staff_id": staff.id},
        headers=auth(supervisor),
    )
    assert ok.status_code == 201, ok.text
    # A supervisor cannot mint admin keys, nor keys for another team (404: ids don't leak).
    assert (
        client.post(
            "/v1/keys", json={"name": "a", "role": "admin"}, headers=auth(supervisor)
        ).status_code
        == 403
    )
    r = client.post(
        "/v1/keys",
        json={"name": "x", "role": "supervisor", "team_id": other.id},
        headers=auth(supervisor),
    )
    assert r.status_code == 404
    # A case manager cannot create keys at all.
    r = client.post(
        "/v1/keys",
        json={"name": "x", "role": "case_manager", "team_id": team.id},
        headers=auth(case_manager),
    )
    assert r.status_code == 403


def test_validation_errors_name_the_field(client, admin_key):
    r = client.post("/v1/keys", json={"name": "x", "role": "wizard"}, headers=auth(admin_key))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "role"
    r = client.post("/v1/keys", json={"name": "x", "role": "supervisor"}, headers=auth(admin_key))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "team_id"
