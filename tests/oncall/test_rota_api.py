"""The rota API over the pure engine: validation, the gap guard, on-call,
schedules, coverage, overrides, calendars, and team isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from app.auth.models import AuditLog
from tests.conftest import auth, status_of
from tests.oncall.conftest import NOW, weekly

UTC = UTC


def create(client, team, body, key=None, **params):
    return client.post(
        f"/v1/teams/{team.team.id}/rotas",
        json=body,
        params=params,
        headers=auth(key or team.supervisor_key),
    )


def test_create_rota_and_ask_who_is_on_call(client, team, session):
    r = create(client, team, weekly(team))
    assert r.status_code == 201, r.text
    rota = r.json()
    oncall = client.get(
        f"/v1/rotas/{rota['id']}/oncall", headers=auth(team.case_manager_key)
    ).json()
    # 2026-01-05 is week 0 (Alice); 18 Nov 2026 is 45 weeks later -> odd -> Bob.
    weeks = (NOW - datetime(2026, 1, 5, 14, tzinfo=UTC)) // timedelta(weeks=1)
    expected = [team.a, team.b][weeks % 2]
    assert oncall["staff"] == {
        "id": expected.id,
        "name": expected.name,
        "languages_spoken": expected.languages_spoken,
    }
    assert oncall["source"] == "layer:weekly"
    assert datetime.fromisoformat(oncall["until"]) == datetime(
        2026, 11, 23, 14, tzinfo=UTC
    )  # Monday 09:00 EST
    assert (
        session.execute(select(AuditLog).where(AuditLog.action == "rota.create")).first()
        is not None
    )


def test_dst_weekend_handoff_through_the_api(client, team):
    body = weekly(team)
    body["layers"][0].update({"turn": {"unit": "days", "length": 1}, "start": "2026-03-01T09:00"})
    rota = create(client, team, body).json()
    shifts = client.get(
        f"/v1/rotas/{rota['id']}/schedule",
        headers=auth(team.supervisor_key),
        params={"start": "2026-03-07T14:00:00+00:00", "end": "2026-03-09T13:00:00+00:00"},
    ).json()
    # 09:00 EST -> 09:00 EDT is 23 hours; the next turn is 24.
    assert [
        (datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])) for s in shifts
    ] == [
        (datetime(2026, 3, 7, 14, tzinfo=UTC), datetime(2026, 3, 8, 13, tzinfo=UTC)),
        (datetime(2026, 3, 8, 13, tzinfo=UTC), datetime(2026, 3, 9, 13, tzinfo=UTC)),
    ]


def test_primary_rota_with_a_gap_is_refused_unless_allowed(client, team, session):
    body = weekly(team)
    body["layers"][0]["restrictions"] = [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    ]
    r = create(client, team, body)
    assert r.status_code == 409
    gaps = r.json()["detail"]["gaps"]
    assert gaps and all(
        datetime.fromisoformat(g["end"]) > datetime.fromisoformat(g["start"]) for g in gaps
    )
    # The first hole starts tonight at 17:00 local.
    assert datetime.fromisoformat(gaps[0]["start"]) == datetime(2026, 11, 18, 22, tzinfo=UTC)
    assert (
        client.get(f"/v1/teams/{team.team.id}/rotas", headers=auth(team.supervisor_key)).json()
        == []
    )
    ok = create(client, team, body, allow_gaps="true")
    assert ok.status_code == 201
    coverage = client.get(
        f"/v1/teams/{team.team.id}/coverage",
        headers=auth(team.supervisor_key),
        params={"start": NOW.isoformat(), "end": (NOW + timedelta(days=7)).isoformat()},
    ).json()
    assert coverage["gaps"][0]["rota_id"] == ok.json()["id"]
    assert coverage["gap_hours"] == pytest.approx(7 * 24 - 5 * 8, abs=0.01)
    # A backup rota may have gaps.
    body["priority"] = 2
    assert create(client, team, body).status_code == 201


def test_coverage_without_a_primary_rota_is_one_hole(client, team):
    r = client.get(f"/v1/teams/{team.team.id}/coverage", headers=auth(team.supervisor_key)).json()
    assert len(r["gaps"]) == 1 and r["gaps"][0]["rota_id"] is None and r["gap_hours"] == 14 * 24


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda b, t: b["layers"][0].update(participants=[]), "participants"),
        (lambda b, t: b.update(timezone="Mars/Olympus"), "timezone"),
        (lambda b, t: b["layers"][0].update(participants=[t.outsider.id]), "participants"),
        (lambda b, t: b["layers"][0].update(participants=[999999]), "participants"),
        (lambda b, t: b["layers"][0]["turn"].update(length=0), "length"),
        (
            lambda b, t: b["layers"][0].update(
                restrictions=[{"days": ["mon"], "start": "09:00", "end": "09:00"}]
            ),
            "restriction",
        ),
        (
            lambda b, t: b["layers"][0].update(
                restrictions=[{"days": ["funday"], "start": "09:00", "end": "10:00"}]
            ),
            "days",
        ),
        (lambda b, t: b["layers"][0].update(start="yesterday"), "start"),
        (lambda b, t: b.update(layers=[]), "layers"),
        (lambda b, t: b.update(surprise=1), "surprise"),
    ],
)
def test_invalid_rotas_are_422_naming_the_field(client, team, mutate, field):
    body = weekly(team)
    mutate(body, team)
    r = create(client, team, body)
    assert r.status_code == 422, r.text
    assert field in str(r.json()["detail"])
    assert (
        client.get(f"/v1/teams/{team.team.id}/rotas", headers=auth(team.supervisor_key)).json()
        == []
    )


def test_override_wins_and_can_be_deleted(client, team):
    rota = create(client, team, weekly(team)).json()
    before = client.get(f"/v1/rotas/{rota['id']}/oncall", headers=auth(team.supervisor_key)).json()[
        "staff"
    ]["id"]
    cover = team.a.id if before == team.b.id else team.b.id
    r = client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={
            "staff_id": cover,
            "start": (NOW - timedelta(hours=1)).isoformat(),
            "end": (NOW + timedelta(hours=3)).isoformat(),
            "reason": "swap",
        },
    )
    assert r.status_code == 201, r.text
    now_on = client.get(f"/v1/rotas/{rota['id']}/oncall", headers=auth(team.supervisor_key)).json()
    assert now_on["staff"]["id"] == cover and now_on["source"] == "override"
    assert datetime.fromisoformat(now_on["until"]) == NOW + timedelta(hours=3)
    team_view = client.get(
        f"/v1/teams/{team.team.id}/oncall", headers=auth(team.case_manager_key)
    ).json()
    assert team_view[0]["staff"]["id"] == cover
    bad = client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={
            "staff_id": cover,
            "start": NOW.isoformat(),
            "end": (NOW - timedelta(hours=1)).isoformat(),
        },
    )
    assert bad.status_code == 422
    assert (
        client.delete(
            f"/v1/rotas/{rota['id']}/overrides/{r.json()['id']}", headers=auth(team.supervisor_key)
        ).status_code
        == 204
    )
    assert (
        client.get(f"/v1/rotas/{rota['id']}/oncall", headers=auth(team.supervisor_key)).json()[
            "staff"
        ]["id"]
        == before
    )


def test_put_replaces_and_keeps_the_gap_guard(client, team):
    rota = create(client, team, weekly(team)).json()
    body = weekly(team, name="Renamed")
    assert (
        client.put(f"/v1/rotas/{rota['id']}", json=body, headers=auth(team.supervisor_key)).json()[
            "name"
        ]
        == "Renamed"
    )
    body["layers"][0]["restrictions"] = [{"days": ["sat"], "start": "00:00", "end": "24:00"}]
    assert status_of(client.put, f"/v1/rotas/{rota['id']}", body, team.supervisor_key) == 409
    assert (
        client.get(f"/v1/rotas/{rota['id']}", headers=auth(team.supervisor_key)).json()["name"]
        == "Renamed"
    )


def test_calendar_export_and_subscription_token(client, team):
    rota = create(client, team, weekly(team)).json()
    r = client.get(
        f"/v1/rotas/{rota['id']}/calendar.ics",
        params={"staff_id": team.a.id},
        headers=auth(team.supervisor_key),
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    events = [c for c in Calendar.from_ical(r.content).walk("VEVENT")]
    assert events and all("Alice" in str(e["summary"]) for e in events)
    assert all(
        (e.decoded("dtend") - e.decoded("dtstart")) == timedelta(weeks=1) for e in events[1:-1]
    )
    token = client.post(
        f"/v1/staff/{team.a.id}/calendar-token", headers=auth(team.case_manager_key)
    )
    assert token.status_code == 201
    path = token.json()["url"].split("://", 1)[1].split("/", 1)[1]
    feed = client.get("/" + path)  # no API key
    assert feed.status_code == 200 and Calendar.from_ical(feed.content).walk("VEVENT")
    assert client.get("/calendar/not-the-token.ics").status_code == 404
    # A case manager may not mint someone else's token.
    assert (
        client.post(
            f"/v1/staff/{team.b.id}/calendar-token", headers=auth(team.case_manager_key)
        ).status_code
        == 403
    )


def test_roles_and_team_isolation(client, team):
    rota = create(client, team, weekly(team)).json()
    rid, tid = rota["id"], team.team.id
    reads = [
        f"/v1/rotas/{rid}",
        f"/v1/rotas/{rid}/oncall",
        f"/v1/rotas/{rid}/schedule",
        f"/v1/rotas/{rid}/calendar.ics",
        f"/v1/rotas/{rid}/overrides",
        f"/v1/teams/{tid}/rotas",
        f"/v1/teams/{tid}/oncall",
        f"/v1/teams/{tid}/coverage",
    ]
    for path in reads:
        assert client.get(path, headers=auth(team.case_manager_key)).status_code == 200, path
        assert client.get(path, headers=auth(team.admin_key)).status_code == 200, path
        assert client.get(path, headers=auth(team.other_key)).status_code == 404, path
        assert client.get(path).status_code == 401, path
    # Case managers read but do not edit; another team's supervisor sees nothing.
    assert (
        create(client, team, weekly(team, priority=2), key=team.case_manager_key).status_code == 403
    )
    assert status_of(client.put, f"/v1/rotas/{rid}", weekly(team), team.case_manager_key) == 403
    assert (
        client.put(f"/v1/rotas/{rid}", json=weekly(team), headers=auth(team.other_key)).status_code
        == 404
    )
    assert client.delete(f"/v1/rotas/{rid}", headers=auth(team.other_key)).status_code == 404
    assert create(client, team, weekly(team, priority=2), key=team.other_key).status_code == 404
    assert (
        client.delete(
            f"/v1/rotas/{rid}", params={"allow_gaps": "true"}, headers=auth(team.supervisor_key)
        ).status_code
        == 204
    )


def test_naive_or_reversed_query_times_are_422(client, team):
    rota = create(client, team, weekly(team)).json()
    r = client.get(
        f"/v1/rotas/{rota['id']}/oncall",
        params={"at": "2026-11-18T10:00:00"},
        headers=auth(team.supervisor_key),
    )
    assert r.status_code == 422
    r = client.get(
        f"/v1/rotas/{rota['id']}/schedule",
        headers=auth(team.supervisor_key),
        params={"start": "2026-11-18T10:00:00+00:00", "end": "2026-11-17T10:00:00+00:00"},
    )
    assert r.status_code == 422


def test_one_rota_per_priority(client, team):
    assert create(client, team, weekly(team)).status_code == 201
    assert create(client, team, weekly(team)).status_code == 409
