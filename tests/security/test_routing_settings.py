"""Settings that would break routing are refused with a 422 naming the field,
and nothing changes."""

from __future__ import annotations

import pytest

from app.oncall.models import Rota
from tests.conftest import auth
from tests.factories import crisis_line, make_key, make_staff, make_team


@pytest.fixture
def teams(session, client, admin_key):
    team, other = make_team(session, name="North"), make_team(session, name="South")
    sup = make_key(session, "supervisor", team)
    mine = make_staff(session, team, name="Mine")
    theirs = make_staff(session, other, name="Theirs")
    layer = {
        "name": "weekly",
        "turn": {"unit": "weeks", "length": 1},
        "start": "2026-11-02T09:00",
        "participants": [],
        "restrictions": [],
    }
    own_rota = Rota(
        team_id=team.id, name="Primary", priority=1, timezone=team.timezone, layers=[layer]
    )
    their_rota = Rota(
        team_id=other.id, name="Theirs", priority=1, timezone=other.timezone, layers=[layer]
    )
    session.add_all([own_rota, their_rota])
    session.commit()
    return team, other, sup, mine, theirs, own_rota, their_rota


def _loc(response) -> list:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"]


def test_a_staff_phone_may_not_be_any_crisis_line(client, session, teams):
    team, other, sup, mine, *_ = teams
    for line in (team.crisis_line_number, other.crisis_line_number):
        r = client.post(
            f"/v1/teams/{team.id}/staff",
            json={"name": "Pat", "phone": line, "role": "case_manager"},
            headers=auth(sup),
        )
        assert _loc(r)[-1] == "phone" and "crisis line" in r.json()["detail"][0]["msg"]
        r = client.patch(f"/v1/staff/{mine.id}", json={"phone": line}, headers=auth(sup))
        assert _loc(r)[-1] == "phone"
    session.refresh(mine)
    assert mine.phone not in (team.crisis_line_number, other.crisis_line_number)


def test_a_crisis_line_may_not_be_a_staff_phone(client, teams, admin_key):
    team, other, sup, mine, *_ = teams
    r = client.post(
        "/v1/teams",
        json={
            "name": "East",
            "timezone": "America/New_York",
            "crisis_line_number": mine.phone,
            "fallback_number": "988",
        },
        headers=auth(admin_key),
    )
    assert _loc(r)[-1] == "crisis_line_number"


@pytest.mark.parametrize("bad", ["000", "112", "12345", "1", "999999", "+1 555 010 0000"])
def test_fallback_must_be_e164_or_an_allowed_short_code(client, session, teams, admin_key, bad):
    team, other, sup, *_ = teams
    before = team.fallback_number
    r = client.patch(f"/v1/teams/{team.id}", json={"fallback_number": bad}, headers=auth(sup))
    assert _loc(r)[-1] == "fallback_number"
    session.refresh(team)
    assert team.fallback_number == before
    r = client.post(
        "/v1/teams",
        json={
            "name": "East",
            "timezone": "America/New_York",
            "crisis_line_number": crisis_line(),
            "fallback_number": bad,
        },
        headers=auth(admin_key),
    )
    assert _loc(r)[-1] == "fallback_number"


@pytest.mark.parametrize(
    "good, stored", [("988", "988"), (" 911 ", "911"), ("(908) 555-0199", "+19085550199")]
)
def test_allowed_fallbacks(client, session, teams, good, stored):
    team, other, sup, *_ = teams
    r = client.patch(f"/v1/teams/{team.id}", json={"fallback_number": good}, headers=auth(sup))
    assert r.status_code == 200 and r.json()["fallback_number"] == stored


def test_escalation_policy_may_name_only_this_teams_staff_and_rotas(client, session, teams):
    team, other, sup, mine, theirs, own_rota, their_rota = teams
    ok_level = {"targets": [{"kind": "staff", "id": mine.id}, {"kind": "rota", "id": own_rota.id}]}
    cases = [
        (
            [ok_level, {"targets": [{"kind": "supervisors"}, {"kind": "staff", "id": theirs.id}]}],
            ["body", "escalation_policy", 1, "targets", 1],
        ),
        (
            [{"targets": [{"kind": "rota", "id": their_rota.id}]}],
            ["body", "escalation_policy", 0, "targets", 0],
        ),
        (
            [{"targets": [{"kind": "staff", "id": 987654}]}],
            ["body", "escalation_policy", 0, "targets", 0],
        ),
        (
            [{"targets": [{"kind": "pager"}]}],
            ["body", "escalation_policy", 0, "targets", 0, "kind"],
        ),
    ]
    for policy, loc in cases:
        r = client.patch(
            f"/v1/teams/{team.id}", json={"escalation_policy": policy}, headers=auth(sup)
        )
        assert _loc(r) == loc, policy
        session.refresh(team)
        assert team.escalation_policy is None
    r = client.patch(
        f"/v1/teams/{team.id}", json={"escalation_policy": [ok_level]}, headers=auth(sup)
    )
    assert r.status_code == 200, r.text
