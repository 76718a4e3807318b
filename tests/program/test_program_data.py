"""Teams, staff, leave, clients, family numbers, crisis plans, plan links,
caseloads and team isolation, through the API."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.auth.models import AuditLog
from tests.conftest import auth, status_of
from tests.factories import one_layer_rota
from tests.oncall.conftest import NOW

TEAM = {
    "name": "East ICM",
    "timezone": "America/Chicago",
    "crisis_line_number": "(312) 555-0100",
    "fallback_number": "988",
}


def audits(session, action):
    session.expire_all()
    return session.execute(select(AuditLog).where(AuditLog.action == action)).scalars().all()


def test_admin_creates_team_and_the_line_is_unique(client, program, session):
    r = client.post("/v1/teams", json=TEAM, headers=auth(program.admin_key))
    assert r.status_code == 201, r.text
    team = r.json()
    assert team["crisis_line_number"] == "+13125550100" and team["caseload_limit"] == 20
    assert "911" in team["auto_reply_text"] and "988" in team["auto_reply_text"]
    assert status_of(client.post, "/v1/teams", dict(TEAM, name="Dup"), program.admin_key) == 409
    assert (
        status_of(
            client.post, "/v1/teams", dict(TEAM, crisis_line_number="+13125550101"), program.sup_key
        )
        == 403
    )
    assert audits(session, "team.create")


def test_team_validation(client, program):
    cases = [
        (dict(TEAM, timezone="Mars/Base"), "timezone"),
        (dict(TEAM, crisis_line_number="+1 555 123 4567"), "crisis_line_number"),
        (dict(TEAM, auto_reply_text="We got it."), "auto_reply_text"),
        (dict(TEAM, caseload_limit=0), "caseload_limit"),
        (dict(TEAM, color="blue"), "color"),
    ]
    for body, field in cases:
        r = client.post("/v1/teams", json=body, headers=auth(program.admin_key))
        assert r.status_code == 422, (field, r.text)
        assert field in str(r.json()["detail"])


def test_staff_phone_hours_and_leave(client, program, session):
    url = f"/v1/teams/{program.team.id}/staff"
    ok = client.post(
        url,
        headers=auth(program.sup_key),
        json={
            "name": "Eve",
            "phone": "201-555-0190",
            "role": "case_manager",
            "working_hours": [{"days": ["mon", "tue"], "start": "09:00", "end": "17:00"}],
        },
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["phone"] == "+12015550190"
    bad_phone = client.post(
        url,
        headers=auth(program.sup_key),
        json={"name": "X", "phone": "+1 555 555 0100", "role": "case_manager"},
    )
    assert bad_phone.status_code == 422 and "phone" in str(bad_phone.json()["detail"])
    bad_hours = client.post(
        url,
        headers=auth(program.sup_key),
        json={
            "name": "X",
            "phone": "+12015550191",
            "role": "case_manager",
            "working_hours": [{"days": ["someday"], "start": "25:00", "end": "17:00"}],
        },
    )
    assert bad_hours.status_code == 422
    staff_id = ok.json()["id"]
    leave = client.post(
        f"/v1/staff/{staff_id}/leave",
        headers=auth(program.sup_key),
        json={
            "start": NOW.isoformat(),
            "end": (NOW + timedelta(days=3)).isoformat(),
            "reason": "holiday",
        },
    )
    assert leave.status_code == 201
    reversed_ = client.post(
        f"/v1/staff/{staff_id}/leave",
        headers=auth(program.sup_key),
        json={"start": NOW.isoformat(), "end": (NOW - timedelta(days=1)).isoformat()},
    )
    assert reversed_.status_code == 422
    assert len(client.get(f"/v1/staff/{staff_id}/leave", headers=auth(program.cm_key)).json()) == 1
    assert (
        client.delete(
            f"/v1/staff/{staff_id}/leave/{leave.json()['id']}", headers=auth(program.sup_key)
        ).status_code
        == 204
    )


def test_clients_caseload_family_numbers_and_staff_phone(client, program, session):
    url = f"/v1/teams/{program.team.id}/clients"
    body = {
        "preferred_name": "Sam",
        "assigned_case_manager_id": program.cm.id,
        "backup_case_manager_id": program.cm2.id,
        "phones": [
            {"number": "201-555-0150", "relation": "self"},
            {"number": "201-555-0151", "relation": "family", "name": "mother"},
        ],
    }
    first = client.post(url, json=body, headers=auth(program.sup_key))
    assert first.status_code == 201, first.text
    second = client.post(
        url,
        json=dict(
            body, preferred_name="Alex", phones=[{"number": "201-555-0151", "relation": "family"}]
        ),
        headers=auth(program.sup_key),
    )
    assert second.status_code == 201
    # The shared family number is reported on both.
    shared = client.get(f"/v1/clients/{first.json()['id']}", headers=auth(program.cm_key)).json()[
        "phones"
    ][1]
    assert shared["shared_with_client_ids"] == [second.json()["id"]]
    # The team's limit is 2: a third client for Casey is refused, naming Casey and the load.
    third = client.post(
        url, json=dict(body, preferred_name="Kim", phones=[]), headers=auth(program.sup_key)
    )
    assert third.status_code == 409
    assert "Casey" in third.json()["detail"] and "2 active clients" in third.json()["detail"]
    same = client.post(
        url,
        json=dict(
            body,
            preferred_name="Lee",
            phones=[],
            assigned_case_manager_id=program.cm2.id,
            backup_case_manager_id=program.cm2.id,
        ),
        headers=auth(program.sup_key),
    )
    assert same.status_code == 422
    staff_phone = client.post(
        url,
        json={"preferred_name": "Mo", "phones": [{"number": program.cm.phone, "relation": "self"}]},
        headers=auth(program.sup_key),
    )
    assert staff_phone.status_code == 409
    assert len(client.get(url, headers=auth(program.cm_key)).json()) == 2


def test_deactivation_lists_what_must_move_first(client, program, session):
    c = client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={"preferred_name": "Sam", "assigned_case_manager_id": program.cm.id},
    )
    session.add(
        one_layer_rota(
            program.team.id,
            [program.cm.id],
            name="Nights",
            priority=2,
            layer="n",
            unit="days",
            start="2026-01-05T17:00",
        )
    )
    session.commit()
    r = client.patch(
        f"/v1/staff/{program.cm.id}", json={"active": False}, headers=auth(program.sup_key)
    )
    assert r.status_code == 409
    blocking = r.json()["detail"]["blocking"]
    assert any(f"client {c.json()['id']}" in b for b in blocking) and any(
        "Nights" in b for b in blocking
    )
    assert (
        client.get(f"/v1/staff/{program.cm.id}", headers=auth(program.sup_key)).json()["active"]
        is True
    )
    assert (
        status_of(client.patch, f"/v1/staff/{program.cm2.id}", {"active": False}, program.sup_key)
        == 200
    )


def test_crisis_plan_versions_and_audited_reads(client, program, session):
    c = client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={"preferred_name": "Sam", "assigned_case_manager_id": program.cm.id},
    ).json()
    url = f"/v1/clients/{c['id']}/crisis-plan"
    assert client.get(url, headers=auth(program.cm_key)).status_code == 404
    v1 = client.put(
        url,
        json={"warning_signs": ["not sleeping"], "reasons_for_living": ["my dog"]},
        headers=auth(program.sup_key),
    )
    v2 = client.put(
        url,
        json={"warning_signs": ["not sleeping", "skipping meds"]},
        headers=auth(program.sup_key),
    )
    assert (v1.json()["version"], v2.json()["version"]) == (1, 2)
    current = client.get(url, headers=auth(program.cm_key)).json()
    assert current["version"] == 2 and current["reasons_for_living"] == []
    versions = client.get(url + "/versions", headers=auth(program.cm_key)).json()
    assert [v["version"] for v in versions] == [1, 2] and versions[0]["reasons_for_living"] == [
        "my dog"
    ]
    reads = audits(session, "crisis_plan.read")
    # The 404 read is on the record too, and so is the versions read.
    assert sorted(r.detail["via"] for r in reads) == ["api", "api", "versions"]
    assert all(r.actor.startswith("key:") and r.detail["client_id"] == c["id"] for r in reads)
    assert (
        client.put(url, json={"warning_signs": ["x"]}, headers=auth(program.cm_key)).status_code
        == 403
    )
    assert (
        client.put(url, json={"warnings": ["x"]}, headers=auth(program.sup_key)).status_code == 422
    )


def test_plan_link_page_expires_revokes_escapes_and_audits(client, program, session, clock):
    c = client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={"preferred_name": "Sam <b>", "assigned_case_manager_id": program.cm.id},
    ).json()
    client.put(
        f"/v1/clients/{c['id']}/crisis-plan",
        headers=auth(program.sup_key),
        json={"coping_strategies": ["<script>alert(1)</script>", "music"]},
    )
    link = client.post(f"/v1/clients/{c['id']}/plan-links", headers=auth(program.cm_key))
    assert link.status_code == 201
    path = "/" + link.json()["url"].split("/", 3)[3]
    page = client.get(path)  # no API key
    assert page.status_code == 200 and "music" in page.text
    assert (
        "<script>alert" not in page.text
        and "&lt;script&gt;" in page.text
        and "Sam &lt;b&gt;" in page.text
    )
    opens = [r for r in audits(session, "crisis_plan.read") if r.detail["via"] == "plan_link"]
    assert len(opens) == 1 and opens[0].actor.startswith("plan-link:")
    clock.advance(hours=13)
    assert client.get(path).status_code == 404
    clock.advance(hours=-13)
    assert client.get(path).status_code == 200
    assert (
        client.post(
            f"/v1/clients/{c['id']}/plan-links/revoke", headers=auth(program.sup_key)
        ).status_code
        == 204
    )
    assert client.get(path).status_code == 404
    assert client.get("/plan/not-a-token").status_code == 404


def test_audit_endpoint_is_scoped_to_the_team(client, program):
    client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={"preferred_name": "Sam"},
    )
    mine = client.get("/v1/audit", headers=auth(program.sup_key)).json()
    assert any(e["action"] == "client.create" for e in mine) and all(
        e["team_id"] == program.team.id for e in mine
    )
    assert (
        client.get(
            "/v1/audit", params={"team_id": program.team.id}, headers=auth(program.other_key)
        ).status_code
        == 404
    )
    assert client.get("/v1/audit", headers=auth(program.cm_key)).status_code == 403


def test_every_endpoint_by_role_and_team(client, program, session):
    c = client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={"preferred_name": "Sam", "assigned_case_manager_id": program.cm.id},
    ).json()
    client.put(f"/v1/clients/{c['id']}/crisis-plan", headers=auth(program.sup_key), json={})
    t, cid, sid = program.team.id, c["id"], program.cm.id
    reads = [
        f"/v1/teams/{t}",
        f"/v1/teams/{t}/staff",
        f"/v1/staff/{sid}",
        f"/v1/staff/{sid}/leave",
        f"/v1/teams/{t}/clients",
        f"/v1/clients/{cid}",
        f"/v1/clients/{cid}/crisis-plan",
        f"/v1/clients/{cid}/crisis-plan/versions",
    ]
    for path in reads:
        assert client.get(path, headers=auth(program.admin_key)).status_code == 200, path
        assert client.get(path, headers=auth(program.sup_key)).status_code == 200, path
        assert client.get(path, headers=auth(program.cm_key)).status_code == 200, path
        assert client.get(path, headers=auth(program.other_key)).status_code == 404, path
        assert client.get(path).status_code == 401, path
    writes = [
        ("patch", f"/v1/teams/{t}", {"name": "N2"}),
        (
            "post",
            f"/v1/teams/{t}/staff",
            {"name": "Z", "phone": "+12015550199", "role": "supervisor"},
        ),
        ("patch", f"/v1/staff/{sid}", {"name": "Casey M"}),
        (
            "post",
            f"/v1/staff/{sid}/leave",
            {"start": NOW.isoformat(), "end": (NOW + timedelta(days=1)).isoformat()},
        ),
        ("post", f"/v1/teams/{t}/clients", {"preferred_name": "Q"}),
        ("patch", f"/v1/clients/{cid}", {"preferred_name": "Sammy"}),
        ("put", f"/v1/clients/{cid}/crisis-plan", {"warning_signs": ["a"]}),
    ]
    for method, path, body in writes:
        assert (
            getattr(client, method)(path, json=body, headers=auth(program.cm_key)).status_code
            == 403
        ), path
        assert (
            getattr(client, method)(path, json=body, headers=auth(program.other_key)).status_code
            == 404
        ), path
    for method, path, body in writes:
        r = getattr(client, method)(path, json=body, headers=auth(program.sup_key))
        assert r.status_code in (200, 201), (path, r.text)
    assert client.get("/v1/teams", headers=auth(program.sup_key)).json()[0]["id"] == t
    assert len(client.get("/v1/teams", headers=auth(program.admin_key)).json()) == 2


def test_patch_may_not_null_a_required_field(client, program):
    c = client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={"preferred_name": "Sam", "assigned_case_manager_id": program.cm.id},
    ).json()
    for path, body in (
        (f"/v1/clients/{c['id']}", {"status": None}),
        (f"/v1/staff/{program.cm.id}", {"name": None}),
        (f"/v1/teams/{program.team.id}", {"timezone": None}),
    ):
        r = client.patch(path, json=body, headers=auth(program.sup_key))
        assert r.status_code == 422, (path, r.text)
        assert list(body)[0] in str(r.json()["detail"])
    # Clearing a nullable field is allowed.
    r = client.patch(
        f"/v1/clients/{c['id']}",
        json={"assigned_case_manager_id": None},
        headers=auth(program.sup_key),
    )
    assert r.status_code == 200 and r.json()["assigned_case_manager_id"] is None
