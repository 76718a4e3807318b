"""Role x endpoint x team for every on-call endpoint: supervisors edit their
own team's rotas, case managers read, admins do all, another team gets 404,
no key gets 401 — and every write leaves an audit row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import AuditLog
from tests.conftest import auth
from tests.oncall.conftest import NOW, weekly


@pytest.fixture
def rota(client, team) -> dict:
    r = client.post(
        f"/v1/teams/{team.team.id}/rotas", json=weekly(team), headers=auth(team.supervisor_key)
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def override(client, team, rota) -> dict:
    r = client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={
            "staff_id": team.a.id,
            "start": NOW.isoformat(),
            "end": (NOW + timedelta(hours=1)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


# (method, path, body, status for a supervisor / admin on success)
def writes(team, rota, override):
    rid, tid, oid = rota["id"], team.team.id, override["id"]
    window = {
        "staff_id": team.b.id,
        "start": NOW.isoformat(),
        "end": (NOW + timedelta(hours=2)).isoformat(),
    }
    return [
        ("POST", f"/v1/teams/{tid}/rotas", weekly(team, priority=2), 201),
        ("PUT", f"/v1/rotas/{rid}", weekly(team, name="Renamed"), 200),
        ("POST", f"/v1/rotas/{rid}/overrides", window, 201),
        ("DELETE", f"/v1/rotas/{rid}/overrides/{oid}", None, 204),
        ("POST", f"/v1/staff/{team.b.id}/calendar-token", None, 201),
        ("DELETE", f"/v1/rotas/{rid}?allow_gaps=true", None, 204),
    ]


WRITE_NAMES = ["create", "replace", "override", "delete-override", "calendar-token", "delete"]


def _overrides(client, team, rota) -> list:
    """The rota's overrides, as its team's supervisor reads them."""
    return client.get(f"/v1/rotas/{rota['id']}/overrides", headers=auth(team.supervisor_key)).json()


def call(client, method, path, body, key):
    return client.request(method, path, json=body, headers=auth(key) if key else {})


@pytest.mark.parametrize("index", range(len(WRITE_NAMES)), ids=WRITE_NAMES)
@pytest.mark.parametrize(
    "who, expect",
    [
        ("none", 401),
        ("case_manager", 403),
        ("other_team", 404),
        ("supervisor", None),
        ("admin", None),
    ],
)
def test_writes(client, team, rota, override, session, index, who, expect):
    method, path, body, ok = writes(team, rota, override)[index]
    key = {
        "none": None,
        "case_manager": team.case_manager_key,
        "other_team": team.other_key,
        "supervisor": team.supervisor_key,
        "admin": team.admin_key,
    }[who]
    audits_before = session.execute(select(func.count()).select_from(AuditLog)).scalar_one()
    r = call(client, method, path, body, key)
    assert r.status_code == (expect or ok), r.text
    audits_after = session.execute(select(func.count()).select_from(AuditLog)).scalar_one()
    # Every accepted write is audited; a refused one leaves nothing behind.
    assert audits_after - audits_before == (1 if expect is None else 0)
    if expect is not None:
        assert (
            client.get(f"/v1/rotas/{rota['id']}", headers=auth(team.supervisor_key)).json()["name"]
            == "Primary"
        )
        assert len(_overrides(client, team, rota)) == 1


READS = [
    "/v1/rotas/{rid}",
    "/v1/rotas/{rid}/oncall",
    "/v1/rotas/{rid}/schedule",
    "/v1/rotas/{rid}/calendar.ics",
    "/v1/rotas/{rid}/overrides",
    "/v1/teams/{tid}/rotas",
    "/v1/teams/{tid}/oncall",
    "/v1/teams/{tid}/coverage",
]


@pytest.mark.parametrize("template", READS)
def test_reads(client, team, rota, template):
    path = template.format(rid=rota["id"], tid=team.team.id)
    for key, status in (
        (team.case_manager_key, 200),
        (team.supervisor_key, 200),
        (team.admin_key, 200),
        (team.other_key, 404),
        (None, 401),
    ):
        assert call(client, "GET", path, None, key).status_code == status, (path, status)


def test_the_other_teams_view_of_its_own_rotas_is_empty(client, team, rota):
    other = team.other.id
    assert client.get(f"/v1/teams/{other}/rotas", headers=auth(team.other_key)).json() == []
    assert client.get(f"/v1/teams/{other}/oncall", headers=auth(team.other_key)).json() == []
    # Its supervisor may not use our staff in its rotas either.
    body = weekly(team)
    r = client.post(f"/v1/teams/{other}/rotas", json=body, headers=auth(team.other_key))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == [
        "body",
        "layers",
        0,
        "participants",
        0,
    ]


def test_an_override_is_addressed_through_its_own_rota(client, team, rota, override):
    backup = client.post(
        f"/v1/teams/{team.team.id}/rotas",
        json=weekly(team, priority=2),
        headers=auth(team.supervisor_key),
    ).json()
    r = client.delete(
        f"/v1/rotas/{backup['id']}/overrides/{override['id']}", headers=auth(team.supervisor_key)
    )
    assert r.status_code == 404
    assert len(_overrides(client, team, rota)) == 1


def test_case_manager_mints_only_their_own_calendar_token(client, team):
    assert (
        client.post(
            f"/v1/staff/{team.a.id}/calendar-token", headers=auth(team.case_manager_key)
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/v1/staff/{team.b.id}/calendar-token", headers=auth(team.case_manager_key)
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/v1/staff/{team.outsider.id}/calendar-token", headers=auth(team.supervisor_key)
        ).status_code
        == 404
    )


def test_a_deleted_override_is_audited_under_its_rotas_team(client, team, rota, override, session):
    """What a team's audit view lists: an admin (of no team) deleting it files
    the delete under the rota's team, not the key's."""
    r = client.delete(
        f"/v1/rotas/{rota['id']}/overrides/{override['id']}", headers=auth(team.admin_key)
    )
    assert r.status_code == 204
    row = session.execute(
        select(AuditLog).where(AuditLog.action == "rota_override.delete")
    ).scalar_one()
    assert (row.team_id, row.record_type, row.record_id) == (
        team.team.id,
        "rota_override",
        override["id"],
    )
