"""Every bad input is a 422 naming the exact field (never a 500), and the
14-day gap guard on PUT, the window cap, coverage and the policy guard on delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import auth, status_of
from tests.oncall.conftest import NOW, weekly

UTC = UTC
BIG = 10**20  # past 64 bits: PostgreSQL would say "integer out of range"


def create(client, team, body, **params):
    return client.post(
        f"/v1/teams/{team.team.id}/rotas",
        json=body,
        params=params,
        headers=auth(team.supervisor_key),
    )


def restricted(**fields):
    return lambda b, t: b["layers"][0].update(
        restrictions=[{"days": ["mon"], "start": "09:00", "end": "17:00", **fields}]
    )


@pytest.mark.parametrize(
    "mutate, loc",
    [
        (
            lambda b, t: b["layers"][0].update(participants=[]),
            ["body", "layers", 0, "participants"],
        ),
        (
            lambda b, t: b["layers"][0].update(participants=[t.a.id, t.outsider.id]),
            ["body", "layers", 0, "participants", 1],
        ),
        (
            lambda b, t: b["layers"][0].update(participants=[BIG]),
            ["body", "layers", 0, "participants", 0],
        ),
        (
            lambda b, t: b["layers"][0]["turn"].update(length=0),
            ["body", "layers", 0, "turn", "length"],
        ),
        (
            lambda b, t: b["layers"][0]["turn"].update(unit="months"),
            ["body", "layers", 0, "turn", "unit"],
        ),
        (
            lambda b, t: b["layers"][0].update(start="2026-02-30T09:00"),
            ["body", "layers", 0, "start"],
        ),
        (
            lambda b, t: b["layers"][0].update(start="0001-01-01T00:00"),
            ["body", "layers", 0, "start"],
        ),
        (
            lambda b, t: b["layers"][0].update(start="9999-12-31T23:00"),
            ["body", "layers", 0, "start"],
        ),
        (restricted(end="09:00"), ["body", "layers", 0, "restrictions", 0, "end"]),
        (restricted(start="24:00"), ["body", "layers", 0, "restrictions", 0, "start"]),
        (restricted(end="25:00"), ["body", "layers", 0, "restrictions", 0, "end"]),
        (restricted(days=["mon", "someday"]), ["body", "layers", 0, "restrictions", 0, "days", 1]),
        (restricted(days=[]), ["body", "layers", 0, "restrictions", 0, "days"]),
        (lambda b, t: b.update(timezone="Mars/Olympus"), ["body", "timezone"]),
        (lambda b, t: b.update(timezone="../../etc/passwd"), ["body", "timezone"]),
        (lambda b, t: b.update(priority=0), ["body", "priority"]),
    ],
)
def test_rota_field_errors(client, team, mutate, loc):
    body = weekly(team)
    mutate(body, team)
    r = create(client, team, body, allow_gaps="true")
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == loc
    assert (
        client.get(f"/v1/teams/{team.team.id}/rotas", headers=auth(team.supervisor_key)).json()
        == []
    )


def test_the_second_layer_is_named_when_it_is_the_bad_one(client, team):
    body = weekly(team)
    second = dict(
        weekly(team)["layers"][0],
        name="nights",
        restrictions=[{"days": ["sat"], "start": "22:00", "end": "22:00"}],
    )
    body["layers"].append(second)
    r = create(client, team, body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == [
        "body",
        "layers",
        1,
        "restrictions",
        0,
        "end",
    ]


@pytest.mark.parametrize(
    "path, params, loc",
    [
        ("oncall", {"at": "2026-11-18T10:00:00"}, ["query", "at"]),
        ("oncall", {"at": "9999-12-31T23:00:00+00:00"}, ["query", "at"]),
        ("oncall", {"at": "0001-01-01T00:00:00+00:00"}, ["query", "at"]),
        (
            "schedule",
            {"start": "2026-11-18T10:00:00+00:00", "end": "2026-11-17T10:00:00+00:00"},
            ["query", "end"],
        ),
        (
            "schedule",
            {"start": "2026-01-01T00:00:00+00:00", "end": "2027-02-06T00:00:00+00:00"},
            ["query", "end"],
        ),
        (
            "schedule",
            {"start": "9999-12-31T00:00:00+00:00", "end": "9999-12-31T23:00:00+00:00"},
            ["query", "start"],
        ),
        ("overrides", {"start": "2026-11-18T10:00:00"}, ["query", "start"]),
        ("calendar.ics", {"staff_id": BIG}, ["query", "staff_id"]),
    ],
)
def test_query_errors(client, team, path, params, loc):
    rota = create(client, team, weekly(team)).json()
    r = client.get(
        f"/v1/rotas/{rota['id']}/{path}", params=params, headers=auth(team.supervisor_key)
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == loc


def test_a_window_of_exactly_400_days_is_allowed(client, team):
    rota = create(client, team, weekly(team)).json()
    start = datetime(2026, 1, 5, 14, tzinfo=UTC)
    r = client.get(
        f"/v1/rotas/{rota['id']}/schedule",
        headers=auth(team.supervisor_key),
        params={"start": start.isoformat(), "end": (start + timedelta(days=400)).isoformat()},
    )
    assert r.status_code == 200
    assert len(r.json()) == 58 and r.json()[-1]["end"] == (
        start + timedelta(days=400)
    ).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"staff_id": BIG}, ["body", "staff_id"]),
        ({"start": "2026-11-18T10:00:00"}, ["body", "start"]),
        ({"start": "1900-01-01T00:00:00+00:00"}, ["body", "start"]),
        ({"end": "2026-11-18T18:00:00+00:00"}, ["body", "end"]),
    ],
)
def test_override_errors(client, team, body, loc):
    rota = create(client, team, weekly(team)).json()
    full = {
        "staff_id": team.a.id,
        "start": NOW.isoformat(),
        "end": (NOW + timedelta(hours=1)).isoformat(),
        **body,
    }
    r = client.post(
        f"/v1/rotas/{rota['id']}/overrides", json=full, headers=auth(team.supervisor_key)
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == loc


@pytest.mark.parametrize(
    "path",
    [
        "/v1/rotas/{big}",
        "/v1/rotas/{big}/oncall",
        "/v1/teams/{big}/rotas",
        "/v1/teams/{big}/coverage",
        "/v1/rotas/1/overrides/{big}",
    ],
)
def test_ids_past_32_bits_are_422_not_500(client, team, path):
    method = "DELETE" if "overrides/" in path else "GET"
    r = client.request(method, path.format(big=BIG), headers=auth(team.admin_key))
    assert r.status_code == 422, r.text


def test_put_gap_guard_counts_existing_overrides_and_accepts_allow_gaps(client, team):
    rota = create(client, team, weekly(team)).json()
    holey = weekly(team)
    holey["layers"][0]["restrictions"] = [
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat"], "start": "00:00", "end": "24:00"}
    ]
    r = client.put(f"/v1/rotas/{rota['id']}", json=holey, headers=auth(team.supervisor_key))
    assert r.status_code == 409
    sundays = [
        (datetime.fromisoformat(g["start"]), datetime.fromisoformat(g["end"]))
        for g in r.json()["detail"]["gaps"]
    ]
    assert sundays == [
        (datetime(2026, 11, 22, 5, tzinfo=UTC), datetime(2026, 11, 23, 5, tzinfo=UTC)),
        (datetime(2026, 11, 29, 5, tzinfo=UTC), datetime(2026, 11, 30, 5, tzinfo=UTC)),
    ]
    # Overrides covering both Sundays fill the holes: the same PUT is then accepted.
    for start, end in sundays:
        assert (
            status_of(
                client.post,
                f"/v1/rotas/{rota['id']}/overrides",
                {"staff_id": team.a.id, "start": start.isoformat(), "end": end.isoformat()},
                team.supervisor_key,
            )
            == 201
        )
    assert status_of(client.put, f"/v1/rotas/{rota['id']}", holey, team.supervisor_key) == 200
    # Leaving Saturdays open too is refused, unless allow_gaps says so (query or body).
    holey["layers"][0]["restrictions"][0]["days"] = ["mon", "tue", "wed", "thu", "fri"]
    assert status_of(client.put, f"/v1/rotas/{rota['id']}", holey, team.supervisor_key) == 409
    assert (
        client.put(
            f"/v1/rotas/{rota['id']}",
            json=holey,
            params={"allow_gaps": "true"},
            headers=auth(team.supervisor_key),
        ).status_code
        == 200
    )
    holey["name"] = "Weekdays"
    assert (
        client.put(
            f"/v1/rotas/{rota['id']}",
            json={**holey, "allow_gaps": True},
            headers=auth(team.supervisor_key),
        ).json()["name"]
        == "Weekdays"
    )


def test_coverage_reports_holes_and_an_override_fills_one(client, team):
    body = weekly(team)
    body["layers"][0]["restrictions"] = [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    ]
    rota = create(client, team, body, allow_gaps="true").json()
    window = {"start": NOW.isoformat(), "end": (NOW + timedelta(days=1)).isoformat()}
    gaps = client.get(
        f"/v1/teams/{team.team.id}/coverage", params=window, headers=auth(team.case_manager_key)
    ).json()
    # Wed 14:00 EST (19:00 UTC): on until 17:00, then a hole to Thu 09:00, then on.
    assert [(g["start"], g["end"], g["rota_id"]) for g in gaps["gaps"]] == [
        ("2026-11-18T22:00:00Z", "2026-11-19T14:00:00Z", rota["id"])
    ]
    client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={
            "staff_id": team.b.id,
            "start": "2026-11-18T22:00:00+00:00",
            "end": "2026-11-19T10:00:00+00:00",
        },
    )
    gaps = client.get(
        f"/v1/teams/{team.team.id}/coverage", params=window, headers=auth(team.case_manager_key)
    ).json()
    assert [(g["start"], g["end"]) for g in gaps["gaps"]] == [
        ("2026-11-19T10:00:00Z", "2026-11-19T14:00:00Z")
    ]
    assert gaps["gap_hours"] == 4


def test_a_rota_named_by_the_escalation_policy_is_not_deleted(client, team, session):
    rota = create(client, team, weekly(team)).json()
    team.team.escalation_policy = [
        {"targets": [{"kind": "supervisors"}], "timeout_seconds": 120},
        {"targets": [{"kind": "rota", "id": rota["id"]}], "timeout_seconds": 300},
    ]
    session.add(team.team)
    session.commit()
    r = client.delete(
        f"/v1/rotas/{rota['id']}", params={"allow_gaps": "true"}, headers=auth(team.supervisor_key)
    )
    assert r.status_code == 409 and "levels 2" in r.json()["detail"]
    assert (
        client.get(f"/v1/rotas/{rota['id']}", headers=auth(team.supervisor_key)).status_code == 200
    )
    team.team.escalation_policy = None
    session.add(team.team)
    session.commit()
    # Deleting the primary leaves the team without one: only when asked for.
    r = client.delete(f"/v1/rotas/{rota['id']}", headers=auth(team.supervisor_key))
    assert r.status_code == 409 and r.json()["detail"]["gaps"] == [
        {"start": NOW.isoformat(), "end": (NOW + timedelta(days=14)).isoformat()}
    ]
    assert (
        client.delete(
            f"/v1/rotas/{rota['id']}",
            params={"allow_gaps": "true"},
            headers=auth(team.supervisor_key),
        ).status_code
        == 204
    )
    assert (
        client.get(f"/v1/rotas/{rota['id']}", headers=auth(team.supervisor_key)).status_code == 404
    )


def test_the_database_holds_one_rota_per_priority(session, team):
    from sqlalchemy.exc import IntegrityError

    from app.oncall.models import Rota

    layers = weekly(team)["layers"]
    session.add(Rota(team_id=team.team.id, name="A", priority=1, timezone="UTC", layers=layers))
    session.flush()
    session.add(
        Rota(team_id=team.other.id, name="Other team", priority=1, timezone="UTC", layers=layers)
    )
    session.flush()
    nested = session.begin_nested()
    session.add(Rota(team_id=team.team.id, name="B", priority=1, timezone="UTC", layers=layers))
    with pytest.raises(IntegrityError):
        session.flush()
    nested.rollback()


def test_put_may_not_take_another_rotas_priority(client, team):
    primary = create(client, team, weekly(team)).json()
    backup = create(client, team, weekly(team, name="Backup", priority=2)).json()
    r = client.put(
        f"/v1/rotas/{backup['id']}",
        json=weekly(team, name="Backup", priority=1),
        headers=auth(team.supervisor_key),
    )
    assert r.status_code == 409 and str(primary["id"]) in r.json()["detail"]
    # Demoting the primary leaves the team without one: refused unless allowed.
    r = client.put(
        f"/v1/rotas/{primary['id']}",
        json=weekly(team, priority=3),
        headers=auth(team.supervisor_key),
    )
    assert r.status_code == 409 and "without a primary" in r.json()["detail"]["message"]
    assert (
        client.put(
            f"/v1/rotas/{primary['id']}",
            json=weekly(team, priority=3),
            params={"allow_gaps": "true"},
            headers=auth(team.supervisor_key),
        ).status_code
        == 200
    )
    assert (
        status_of(
            client.put,
            f"/v1/rotas/{backup['id']}",
            weekly(team, name="Backup", priority=1),
            team.supervisor_key,
        )
        == 200
    )
