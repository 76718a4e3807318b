"""Who is on call across the New York DST weekends, asked through the API,
and how overrides (recent, old, far ahead) change the answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.auth.models import AuditLog
from tests.conftest import auth
from tests.oncall.conftest import NOW, weekly

UTC = UTC


def create(client, team, body, **params):
    r = client.post(
        f"/v1/teams/{team.team.id}/rotas",
        json=body,
        params=params,
        headers=auth(team.supervisor_key),
    )
    assert r.status_code == 201, r.text
    return r.json()


def daily(team, start: str) -> dict:
    body = weekly(team, name="Daily")
    body["layers"][0].update(name="daily", turn={"unit": "days", "length": 1}, start=start)
    return body


def oncall(client, team, rota_id, at: datetime) -> dict:
    r = client.get(
        f"/v1/rotas/{rota_id}/oncall",
        params={"at": at.isoformat()},
        headers=auth(team.case_manager_key),
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_fall_back_weekend_turn_lasts_25_hours(client, team):
    # Handoffs at 09:00 New York; DST ends 2026-11-01 02:00 EDT -> 01:00 EST.
    rota = create(client, team, daily(team, "2026-10-01T09:00"))
    saturday = oncall(client, team, rota["id"], datetime(2026, 10, 31, 14, tzinfo=UTC))  # 10:00 EDT
    sunday = oncall(
        client, team, rota["id"], datetime(2026, 11, 1, 13, 30, tzinfo=UTC)
    )  # 08:30 EST
    # Day 30 after the anchor (even) is Alice's; it runs 09:00 EDT Sat -> 09:00 EST Sun.
    assert saturday["staff"]["id"] == sunday["staff"]["id"] == team.a.id
    assert saturday["source"] == "layer:daily"
    assert datetime.fromisoformat(saturday["until"]) == datetime(2026, 11, 1, 14, tzinfo=UTC)
    assert datetime.fromisoformat(saturday["until"]) - datetime(
        2026, 10, 31, 13, tzinfo=UTC
    ) == timedelta(hours=25)
    # 13:59:59 UTC is still Alice; at 14:00 UTC (09:00 EST) Bob takes over.
    assert (
        oncall(client, team, rota["id"], datetime(2026, 11, 1, 13, 59, 59, tzinfo=UTC))["staff"][
            "id"
        ]
        == team.a.id
    )
    monday = oncall(client, team, rota["id"], datetime(2026, 11, 1, 14, tzinfo=UTC))
    assert monday["staff"]["id"] == team.b.id
    assert datetime.fromisoformat(monday["until"]) == datetime(2026, 11, 2, 14, tzinfo=UTC)


def test_spring_forward_handoff_in_the_missing_hour(client, team):
    # 02:30 does not exist on 2026-03-08 in New York: the handoff happens at the
    # first instant after the gap, 03:00 EDT = 07:00 UTC; the day before it was 07:30 UTC.
    rota = create(client, team, daily(team, "2026-03-01T02:30"))
    before = oncall(client, team, rota["id"], datetime(2026, 3, 8, 6, 59, tzinfo=UTC))
    assert before["staff"]["id"] == team.a.id  # turn 6 (from 7 March 02:30 EST): even, Alice
    assert datetime.fromisoformat(before["until"]) == datetime(2026, 3, 8, 7, tzinfo=UTC)
    after = oncall(client, team, rota["id"], datetime(2026, 3, 8, 7, tzinfo=UTC))
    assert after["staff"]["id"] == team.b.id
    assert datetime.fromisoformat(after["until"]) == datetime(
        2026, 3, 9, 6, 30, tzinfo=UTC
    )  # 02:30 EDT
    # The team view agrees.
    team_view = client.get(
        f"/v1/teams/{team.team.id}/oncall",
        params={"at": "2026-03-08T07:00:00+00:00"},
        headers=auth(team.case_manager_key),
    ).json()
    assert [(t["rota_id"], t["staff"]["id"]) for t in team_view] == [(rota["id"], team.b.id)]


def test_override_created_via_api_changes_who_is_on_call_and_is_audited(client, team, session):
    rota = create(client, team, weekly(team))
    before = oncall(client, team, rota["id"], NOW)
    cover = team.a.id if before["staff"]["id"] == team.b.id else team.b.id
    start, end = NOW + timedelta(hours=2), NOW + timedelta(hours=5)
    r = client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={
            "staff_id": cover,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "reason": "sick",
        },
    )
    assert r.status_code == 201, r.text
    override = r.json()
    # Before it starts, the layer person's turn now ends when the override begins.
    assert datetime.fromisoformat(oncall(client, team, rota["id"], NOW)["until"]) == start
    during = oncall(client, team, rota["id"], start + timedelta(minutes=1))
    assert (during["staff"]["id"], during["source"], datetime.fromisoformat(during["until"])) == (
        cover,
        "override",
        end,
    )
    after = oncall(client, team, rota["id"], end)
    assert after["staff"]["id"] == before["staff"]["id"] and after["source"] == "layer:weekly"
    listed = client.get(
        f"/v1/rotas/{rota['id']}/overrides", headers=auth(team.case_manager_key)
    ).json()
    assert [o["id"] for o in listed] == [override["id"]] and listed[0]["reason"] == "sick"
    # Listing a window that ends before the override finds nothing.
    assert (
        client.get(
            f"/v1/rotas/{rota['id']}/overrides",
            headers=auth(team.case_manager_key),
            params={"start": (NOW - timedelta(days=3)).isoformat(), "end": start.isoformat()},
        ).json()
        == []
    )
    assert (
        client.delete(
            f"/v1/rotas/{rota['id']}/overrides/{override['id']}", headers=auth(team.supervisor_key)
        ).status_code
        == 204
    )
    assert (
        oncall(client, team, rota["id"], start + timedelta(minutes=1))["source"] == "layer:weekly"
    )
    assert (
        client.delete(
            f"/v1/rotas/{rota['id']}/overrides/{override['id']}", headers=auth(team.supervisor_key)
        ).status_code
        == 404
    )
    actions = [
        a.action
        for a in session.execute(
            select(AuditLog).where(AuditLog.record_type == "rota_override").order_by(AuditLog.id)
        ).scalars()
    ]
    assert actions == ["rota_override.create", "rota_override.delete"]


def test_old_long_override_and_one_far_ahead_are_both_seen(client, team):
    # One turn that outlasts every window (500 weeks): only overrides can change the answer.
    body = weekly(team)
    body["layers"][0].update(turn={"unit": "weeks", "length": 500}, participants=[team.a.id])
    rota = create(client, team, body)
    assert oncall(client, team, rota["id"], NOW)["until"] is None
    # An override 30 days ahead lies beyond the first window the service loads.
    ahead = NOW + timedelta(days=30)
    client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={
            "staff_id": team.b.id,
            "start": ahead.isoformat(),
            "end": (ahead + timedelta(days=1)).isoformat(),
        },
    )
    assert datetime.fromisoformat(oncall(client, team, rota["id"], NOW)["until"]) == ahead
    # An override that began 300 days ago and is still running covers now.
    client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={
            "staff_id": team.b.id,
            "start": (NOW - timedelta(days=300)).isoformat(),
            "end": (NOW + timedelta(hours=1)).isoformat(),
        },
    )
    now_on = oncall(client, team, rota["id"], NOW)
    assert (now_on["staff"]["id"], now_on["source"]) == (team.b.id, "override")
    assert datetime.fromisoformat(now_on["until"]) == NOW + timedelta(hours=1)


def test_override_must_name_an_active_member_of_the_rotas_team(client, team, session):
    rota = create(client, team, weekly(team))
    window = {"start": NOW.isoformat(), "end": (NOW + timedelta(hours=1)).isoformat()}
    for staff_id in (team.outsider.id, 2_000_000_000):
        r = client.post(
            f"/v1/rotas/{rota['id']}/overrides",
            headers=auth(team.supervisor_key),
            json={"staff_id": staff_id, **window},
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "staff_id"]
    team.b.active = False
    session.add(team.b)
    session.commit()
    r = client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={"staff_id": team.b.id, **window},
    )
    assert r.status_code == 422
    assert (
        client.get(f"/v1/rotas/{rota['id']}/overrides", headers=auth(team.supervisor_key)).json()
        == []
    )
