"""The finer rules of program data, each with a test that fails without it,
and the full role x endpoint x team matrix."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.auth.models import AuditLog
from app.errors import Invalid
from app.oncall.models import Rota, RotaOverride
from app.teams import service as team_service
from app.teams.phones import parse_phone
from tests.conftest import auth, status_of
from tests.factories import make_staff
from tests.oncall.conftest import NOW

TEAM = {
    "name": "West ICM",
    "timezone": "America/Denver",
    "crisis_line_number": "+1 720 555 0100",
    "fallback_number": "+1 720 555 0199",
}


def locs(response) -> list:
    return [e["loc"] for e in response.json()["detail"]]


# --- phones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["(201) 555-0123", "201.555.0123", "+1 201-555-0123", "12015550123"]
)
def test_parse_phone_accepts_any_form_and_answers_e164(raw):
    assert parse_phone(raw, "US", "phone") == "+12015550123"


@pytest.mark.parametrize("raw", ["+1 555 555 0100", "555-0100", "hello", "+44", ""])
def test_parse_phone_refuses_invalid_numbers_naming_the_field(raw):
    with pytest.raises(Invalid) as exc:
        parse_phone(raw, "US", "phone")
    assert exc.value.detail[0]["loc"] == ["body", "phone"] and exc.value.detail[0]["msg"]


def test_client_phone_555_is_refused_with_its_index(client, program):
    r = client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={
            "preferred_name": "Sam",
            "phones": [
                {"number": "201-555-0150", "relation": "self"},
                {"number": "+1 555 555 0101", "relation": "family"},
            ],
        },
    )
    assert r.status_code == 422 and ["body", "phones", 1, "number"] in locs(r)


# --- teams ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["", "Mars/Base", "../../etc/passwd", "America/", "EST5EDT/../x"])
def test_bad_time_zones_are_422(client, program, zone):
    r = client.post("/v1/teams", json=dict(TEAM, timezone=zone), headers=auth(program.admin_key))
    assert r.status_code == 422, r.text
    assert "timezone" in str(r.json()["detail"])


def test_team_defaults_and_texts_need_911_and_988_on_create_and_patch(client, program):
    r = client.post("/v1/teams", json=TEAM, headers=auth(program.admin_key))
    assert r.status_code == 201, r.text
    team = r.json()
    assert (
        team["region"],
        team["ack_timeout_seconds"],
        team["dial_timeout_seconds"],
        team["caseload_limit"],
    ) == ("US", 300, 20, 20)
    assert (
        team["fallback_number"] == "+17205550199"
        and datetime.fromisoformat(team["created_at"]).utcoffset() is not None
    )
    for field in ("auto_reply_text", "fallback_text"):
        only_911 = client.post(
            "/v1/teams",
            json=dict(TEAM, crisis_line_number="+17205550101", **{field: "Call 911."}),
            headers=auth(program.admin_key),
        )
        assert only_911.status_code == 422 and field in str(only_911.json()["detail"])
        patch = client.patch(
            f"/v1/teams/{team['id']}", json={field: "Call 988."}, headers=auth(program.admin_key)
        )
        assert patch.status_code == 422 and field in str(patch.json()["detail"])
        good = client.patch(
            f"/v1/teams/{team['id']}",
            json={field: "Danger: call 911. Talk: call or text 988."},
            headers=auth(program.admin_key),
        )
        assert good.status_code == 200 and good.json()[field].startswith("Danger")
    words = client.patch(
        f"/v1/teams/{team['id']}",
        json={"priority_words": ["pills"]},
        headers=auth(program.admin_key),
    )
    assert words.json()["priority_words"] == ["pills"]


def test_a_racing_duplicate_line_is_409_not_500(client, program, monkeypatch):
    """The pre-check can miss a concurrent create; the unique index then decides."""
    assert client.post("/v1/teams", json=TEAM, headers=auth(program.admin_key)).status_code == 201
    monkeypatch.setattr(team_service, "_line_taken", lambda *a, **k: False)
    r = client.post("/v1/teams", json=dict(TEAM, name="Twin"), headers=auth(program.admin_key))
    assert r.status_code == 409 and "already belongs" in r.json()["detail"]
    assert len(client.get("/v1/teams", headers=auth(program.admin_key)).json()) == 3


def test_supervisor_patches_only_their_own_team(client, program):
    assert (
        client.patch(
            f"/v1/teams/{program.team.id}",
            json={"caseload_limit": 5},
            headers=auth(program.sup_key),
        ).json()["caseload_limit"]
        == 5
    )
    assert (
        status_of(
            client.patch, f"/v1/teams/{program.team.id}", {"caseload_limit": 6}, program.other_key
        )
        == 404
    )
    assert (
        status_of(
            client.patch,
            f"/v1/teams/{program.team.id}",
            {"crisis_line_number": "+12015550111"},
            program.sup_key,
        )
        == 422
    )  # unknown/immutable field


# --- staff ----------------------------------------------------------------------------------------


def test_working_hours_go_through_the_routing_parser(client, program):
    url = f"/v1/teams/{program.team.id}/staff"
    base = {"name": "Eve", "phone": "+12015550190", "role": "case_manager"}
    # "24:00" passes the schema's pattern (it is a valid end) but is no start time.
    r = client.post(
        url,
        json=dict(base, working_hours=[{"days": ["mon"], "start": "24:00", "end": "17:00"}]),
        headers=auth(program.sup_key),
    )
    assert r.status_code == 422, r.text
    assert ["body", "working_hours", 0, "start"] in locs(r)
    ok = client.post(
        url,
        json=dict(
            base,
            working_hours=[
                {"days": ["fri"], "start": "22:00", "end": "06:00"},
                {"days": ["sat", "sun"], "start": "00:00", "end": "24:00"},
            ],
        ),
        headers=auth(program.sup_key),
    )
    assert ok.status_code == 201, ok.text
    patch = client.patch(
        f"/v1/staff/{ok.json()['id']}",
        json={
            "working_hours": [
                {"days": ["mon"], "start": "09:00", "end": "17:00"},
                {"days": ["tue"], "start": "24:00", "end": "01:00"},
            ]
        },
        headers=auth(program.sup_key),
    )
    assert patch.status_code == 422 and ["body", "working_hours", 1, "start"] in locs(patch)
    for bad in (
        {"days": [], "start": "09:00", "end": "17:00"},
        {"days": ["mon"], "start": "9:00", "end": "17:00"},
        {"days": ["mon"], "start": "09:00"},
        {"days": ["mon"], "start": "09:00", "end": "17:00", "x": 1},
    ):
        assert (
            status_of(
                client.post,
                url,
                dict(base, phone="+12015550191", working_hours=[bad]),
                program.sup_key,
            )
            == 422
        ), bad


def test_staff_phone_must_be_their_own(client, program, session):
    url = f"/v1/teams/{program.team.id}/staff"
    dup = client.post(
        url,
        json={"name": "Twin", "phone": program.cm.phone, "role": "case_manager"},
        headers=auth(program.sup_key),
    )
    assert dup.status_code == 409
    c = client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={"preferred_name": "Sam", "phones": [{"number": "+12015550150", "relation": "self"}]},
    )
    assert c.status_code == 201
    assert (
        status_of(
            client.post,
            url,
            {"name": "X", "phone": "+12015550150", "role": "case_manager"},
            program.sup_key,
        )
        == 409
    )
    # …and the same on PATCH.
    assert (
        status_of(
            client.patch,
            f"/v1/staff/{program.cm2.id}",
            {"phone": program.cm.phone},
            program.sup_key,
        )
        == 409
    )
    assert (
        status_of(
            client.patch, f"/v1/staff/{program.cm2.id}", {"phone": "201 555 0150"}, program.sup_key
        )
        == 409
    )
    assert (
        status_of(
            client.patch,
            f"/v1/staff/{program.cm2.id}",
            {"phone": "+1 555 555 0100"},
            program.sup_key,
        )
        == 422
    )
    same = client.patch(
        f"/v1/staff/{program.cm2.id}",
        json={"phone": "(201) 555-0182"},
        headers=auth(program.sup_key),
    )
    assert same.status_code == 200 and same.json()["phone"] == "+12015550182"


def test_deactivation_counts_future_overrides_backups_but_not_the_past(client, program, session):
    rota = Rota(
        team_id=program.team.id, name="Days", priority=1, timezone="America/New_York", layers=[]
    )
    session.add(rota)
    session.flush()
    session.add(
        RotaOverride(
            rota_id=rota.id,
            staff_id=program.cm.id,
            start=NOW - timedelta(days=3),
            end=NOW - timedelta(days=2),
        )
    )
    session.commit()
    # A past override and no clients: free to go, then back.
    assert (
        status_of(client.patch, f"/v1/staff/{program.cm.id}", {"active": False}, program.sup_key)
        == 200
    )
    assert (
        status_of(client.patch, f"/v1/staff/{program.cm.id}", {"active": True}, program.sup_key)
        == 200
    )
    future = RotaOverride(
        rota_id=rota.id,
        staff_id=program.cm.id,
        start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=2),
    )
    session.add(future)
    session.commit()
    c = client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={
            "preferred_name": "Sam",
            "assigned_case_manager_id": program.cm2.id,
            "backup_case_manager_id": program.cm.id,
        },
    ).json()
    r = client.patch(
        f"/v1/staff/{program.cm.id}", json={"active": False}, headers=auth(program.sup_key)
    )
    assert r.status_code == 409
    blocking = r.json()["detail"]["blocking"]
    assert f"client {c['id']} (backup case manager)" in blocking
    assert f"override {future.id} on rota {rota.id}" in blocking
    # A discharged client no longer holds anyone.
    client.patch(
        f"/v1/clients/{c['id']}", json={"status": "discharged"}, headers=auth(program.sup_key)
    )
    blocking = client.patch(
        f"/v1/staff/{program.cm.id}", json={"active": False}, headers=auth(program.sup_key)
    ).json()["detail"]["blocking"]
    assert blocking == [f"override {future.id} on rota {rota.id}"]


def test_role_change_away_from_case_manager_needs_clients_moved(client, program):
    c = client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={"preferred_name": "Sam", "assigned_case_manager_id": program.cm.id},
    ).json()
    r = client.patch(
        f"/v1/staff/{program.cm.id}", json={"role": "supervisor"}, headers=auth(program.sup_key)
    )
    assert (
        r.status_code == 409
        and f"client {c['id']} (assigned case manager)" in r.json()["detail"]["blocking"]
    )
    assert (
        status_of(
            client.patch, f"/v1/staff/{program.cm2.id}", {"role": "supervisor"}, program.sup_key
        )
        == 200
    )


def test_leave_rules(client, program):
    url = f"/v1/staff/{program.cm.id}/leave"
    naive = client.post(
        url,
        json={"start": "2026-12-01T00:00:00", "end": "2026-12-02T00:00:00"},
        headers=auth(program.sup_key),
    )
    assert naive.status_code == 422
    equal = client.post(
        url, json={"start": NOW.isoformat(), "end": NOW.isoformat()}, headers=auth(program.sup_key)
    )
    assert equal.status_code == 422 and "end" in str(equal.json()["detail"])
    ok = client.post(
        url,
        json={"start": "2026-12-01T09:00:00-05:00", "end": "2026-12-08T09:00:00-05:00"},
        headers=auth(program.sup_key),
    )
    assert ok.status_code == 201
    listed = client.get(url, headers=auth(program.sup_key)).json()
    assert listed[0]["id"] == ok.json()["id"] and listed[0]["start"].startswith("2026-12-01T14:00")
    # Another staff member's leave id is not reachable through this person.
    assert (
        client.delete(
            f"/v1/staff/{program.cm2.id}/leave/{ok.json()['id']}", headers=auth(program.sup_key)
        ).status_code
        == 404
    )
    assert (
        client.delete(f"{url}/{ok.json()['id']}", headers=auth(program.sup_key)).status_code == 204
    )
    assert (
        client.delete(f"{url}/{ok.json()['id']}", headers=auth(program.sup_key)).status_code == 404
    )


# --- clients --------------------------------------------------------------------------------------


def test_case_managers_must_be_active_case_managers_of_the_team(client, program, session):
    sup = make_staff(session, program.team, name="Dana", phone="+12015550183", role="supervisor")
    gone = make_staff(session, program.team, name="Gone", phone="+12015550184", active=False)
    foreign = make_staff(session, program.other, name="Far", phone="+12015550185")
    session.commit()
    url = f"/v1/teams/{program.team.id}/clients"
    for field, staff_id in (
        ("backup_case_manager_id", sup.id),
        ("assigned_case_manager_id", gone.id),
        ("assigned_case_manager_id", foreign.id),
        ("backup_case_manager_id", 999999),
    ):
        r = client.post(
            url, json={"preferred_name": "Sam", field: staff_id}, headers=auth(program.sup_key)
        )
        assert r.status_code == 422 and ["body", field] in locs(r), (field, r.text)


def test_reassigning_and_reactivating_check_the_caseload(client, program):
    url = f"/v1/teams/{program.team.id}/clients"
    ids = [
        client.post(
            url,
            json={"preferred_name": n, "assigned_case_manager_id": program.cm.id},
            headers=auth(program.sup_key),
        ).json()["id"]
        for n in ("A", "B")
    ]
    other = client.post(
        url,
        json={"preferred_name": "C", "assigned_case_manager_id": program.cm2.id},
        headers=auth(program.sup_key),
    ).json()
    r = client.patch(
        f"/v1/clients/{other['id']}",
        json={"assigned_case_manager_id": program.cm.id},
        headers=auth(program.sup_key),
    )
    assert (
        r.status_code == 409
        and "Casey" in r.json()["detail"]
        and "2 active clients" in r.json()["detail"]
    )
    # Discharging frees a place; re-admitting the discharged client is checked again.
    assert (
        status_of(client.patch, f"/v1/clients/{ids[0]}", {"status": "discharged"}, program.sup_key)
        == 200
    )
    assert (
        status_of(
            client.patch,
            f"/v1/clients/{other['id']}",
            {"assigned_case_manager_id": program.cm.id},
            program.sup_key,
        )
        == 200
    )
    back = client.patch(
        f"/v1/clients/{ids[0]}", json={"status": "active"}, headers=auth(program.sup_key)
    )
    assert back.status_code == 409 and "Casey" in back.json()["detail"]
    # Editing a client at the limit without moving them is fine.
    assert (
        status_of(client.patch, f"/v1/clients/{ids[1]}", {"preferred_name": "Bee"}, program.sup_key)
        == 200
    )


def test_phones_replace_and_sharing_is_reported_on_every_holder(client, program):
    url = f"/v1/teams/{program.team.id}/clients"
    family = {"number": "201-555-0160", "relation": "family", "name": "Mum"}
    ids = [
        client.post(
            url, json={"preferred_name": n, "phones": [family]}, headers=auth(program.sup_key)
        ).json()["id"]
        for n in ("A", "B", "C")
    ]
    a = client.get(f"/v1/clients/{ids[0]}", headers=auth(program.sup_key)).json()
    assert a["phones"] == [
        {
            "number": "+12015550160",
            "relation": "family",
            "name": "Mum",
            "language": None,
            "shared_with_client_ids": sorted(ids[1:]),
        }
    ]
    twice = client.post(
        url,
        json={"preferred_name": "D", "phones": [family, dict(family, number="+12015550160")]},
        headers=auth(program.sup_key),
    )
    assert twice.status_code == 422
    b = client.patch(
        f"/v1/clients/{ids[1]}",
        json={"phones": [{"number": "2015550161", "relation": "self"}]},
        headers=auth(program.sup_key),
    ).json()
    assert (
        b["phones"][0]["number"] == "+12015550161"
        and b["phones"][0]["shared_with_client_ids"] == []
    )
    a = client.get(f"/v1/clients/{ids[0]}", headers=auth(program.sup_key)).json()
    assert a["phones"][0]["shared_with_client_ids"] == [ids[2]]
    bad_relation = client.post(
        url,
        json={"preferred_name": "E", "phones": [{"number": "2015550162", "relation": "pal"}]},
        headers=auth(program.sup_key),
    )
    assert bad_relation.status_code == 422


# --- plans ----------------------------------------------------------------------------------------


def test_plan_versions_are_kept_unchanged(client, program, session):
    c = client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={"preferred_name": "Sam"},
    ).json()
    url = f"/v1/clients/{c['id']}/crisis-plan"
    full = {
        "warning_signs": ["a"],
        "coping_strategies": ["b"],
        "social_supports": ["c"],
        "people_to_call": ["d"],
        "professionals": ["e"],
        "safe_environment": ["f"],
        "reasons_for_living": ["g"],
        "notes": "n",
        "preferred_hospital": "St. Elsewhere",
        "advance_directive_notes": "adn",
    }
    v1 = client.put(url, json=full, headers=auth(program.admin_key)).json()
    assert {k: v1[k] for k in full} == full and v1["created_by"].startswith("key:")
    client.put(url, json={"notes": "changed"}, headers=auth(program.sup_key))
    versions = client.get(url + "/versions", headers=auth(program.sup_key)).json()
    assert [v["version"] for v in versions] == [1, 2]
    assert {k: versions[0][k] for k in full} == full and versions[1]["warning_signs"] == []
    assert status_of(client.put, url, {"warning_signs": "not a list"}, program.sup_key) == 422
    writes = [
        r
        for r in session.execute(
            select(AuditLog).where(AuditLog.action == "crisis_plan.write")
        ).scalars()
    ]
    assert [w.detail["version"] for w in writes] == [1, 2]
    assert (
        client.get("/v1/clients/999999/crisis-plan", headers=auth(program.admin_key)).status_code
        == 404
    )


def test_plan_link_for_a_client_without_plan_and_links_are_per_client(client, program):
    url = f"/v1/teams/{program.team.id}/clients"
    a = client.post(url, json={"preferred_name": "A"}, headers=auth(program.sup_key)).json()
    b = client.post(url, json={"preferred_name": "B"}, headers=auth(program.sup_key)).json()
    link_a = client.post(f"/v1/clients/{a['id']}/plan-links", headers=auth(program.sup_key)).json()
    link_b = client.post(f"/v1/clients/{b['id']}/plan-links", headers=auth(program.sup_key)).json()
    assert link_a["url"].startswith("https://crisis.example.org/plan/")
    assert link_a["expires_at"].startswith((NOW + timedelta(hours=12)).isoformat()[:16])
    path_a, path_b = ("/" + link["url"].split("/", 3)[3] for link in (link_a, link_b))
    page = client.get(path_a)
    assert page.status_code == 200 and "No crisis plan" in page.text
    assert page.headers["cache-control"] == "no-store" and 'name="viewport"' in page.text
    # The page follows the CURRENT version.
    client.put(
        f"/v1/clients/{a['id']}/crisis-plan",
        json={"warning_signs": ["v1 sign"]},
        headers=auth(program.sup_key),
    )
    client.put(
        f"/v1/clients/{a['id']}/crisis-plan",
        json={"warning_signs": ["v2 sign"]},
        headers=auth(program.sup_key),
    )
    page = client.get(path_a)
    assert "v2 sign" in page.text and "v1 sign" not in page.text and "Version 2" in page.text
    client.post(f"/v1/clients/{a['id']}/plan-links/revoke", headers=auth(program.sup_key))
    gone = client.get(path_a)
    assert gone.status_code == 404 and gone.headers["content-type"].startswith("text/html")
    assert client.get(path_b).status_code == 200  # another client's link is untouched


def test_plan_page_escapes_every_field(client, program):
    c = client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={"preferred_name": "<i>Sam</i>"},
    ).json()
    evil = '<img src=x onerror="alert(1)">'
    body = {
        s: [evil]
        for s in (
            "warning_signs",
            "coping_strategies",
            "social_supports",
            "people_to_call",
            "professionals",
            "safe_environment",
            "reasons_for_living",
        )
    }
    body.update(notes=evil, preferred_hospital=evil, advance_directive_notes=evil)
    client.put(f"/v1/clients/{c['id']}/crisis-plan", json=body, headers=auth(program.sup_key))
    url = client.post(f"/v1/clients/{c['id']}/plan-links", headers=auth(program.sup_key)).json()[
        "url"
    ]
    page = client.get("/" + url.split("/", 3)[3]).text
    assert "<img" not in page and "<i>" not in page
    assert page.count("&lt;img src=x onerror=&#34;alert(1)&#34;&gt;") == 10


# --- audit and isolation --------------------------------------------------------------------------


def test_audit_endpoint_filters_by_time_and_admin_sees_all(client, program):
    client.post(
        f"/v1/teams/{program.team.id}/clients",
        headers=auth(program.sup_key),
        json={"preferred_name": "A"},
    )
    client.patch(
        f"/v1/teams/{program.other.id}", headers=auth(program.other_key), json={"name": "South 2"}
    )
    everything = client.get("/v1/audit", headers=auth(program.admin_key)).json()
    assert {program.team.id, program.other.id} <= {e["team_id"] for e in everything}
    only_other = client.get(
        "/v1/audit", params={"team_id": program.other.id}, headers=auth(program.admin_key)
    ).json()
    assert only_other and all(e["team_id"] == program.other.id for e in only_other)
    future = client.get(
        "/v1/audit", params={"start": "2199-01-01T00:00:00+00:00"}, headers=auth(program.admin_key)
    )
    assert future.status_code == 200 and future.json() == []
    assert (
        client.get(
            "/v1/audit", params={"start": "2026-01-01T00:00:00"}, headers=auth(program.admin_key)
        ).status_code
        == 422
    )
    assert (
        client.get("/v1/audit", headers=auth(program.other_key)).json()[0]["action"]
        == "team.update"
    )


def test_role_endpoint_team_matrix(client, program, session):
    """Every endpoint of this area, with each kind of caller: admin, the team's
    supervisor, its case manager, another team's supervisor, and no key."""
    t, sid = program.team.id, program.cm.id
    c = client.post(
        f"/v1/teams/{t}/clients", headers=auth(program.sup_key), json={"preferred_name": "Sam"}
    ).json()
    cid = c["id"]
    client.put(f"/v1/clients/{cid}/crisis-plan", headers=auth(program.sup_key), json={})
    leave = client.post(
        f"/v1/staff/{sid}/leave",
        headers=auth(program.sup_key),
        json={"start": NOW.isoformat(), "end": (NOW + timedelta(days=1)).isoformat()},
    ).json()
    span = {"start": NOW.isoformat(), "end": (NOW + timedelta(days=1)).isoformat()}
    n = iter(range(60, 99))

    def team_body():
        return dict(TEAM, crisis_line_number=f"+1720555{next(n):04d}")

    def staff_body():
        return {"name": "Z", "phone": f"+1201555{next(n) + 100:04d}", "role": "case_manager"}

    A, S, C, O, N = "admin", "supervisor", "case_manager", "other", "none"  # noqa: E741 - a table of roles
    keys = {
        A: program.admin_key,
        S: program.sup_key,
        C: program.cm_key,
        O: program.other_key,
        N: None,
    }
    # (method, path, body factory, {caller: expected status})
    R = {A: 200, S: 200, C: 200, O: 404, N: 401}
    # `cid` is nobody's client: a case manager reads only their own (app.auth.access).
    R_client = {A: 200, S: 200, C: 404, O: 404, N: 401}
    W = lambda ok: {A: ok, S: ok, C: 403, O: 404, N: 401}  # noqa: E731
    matrix = [
        ("get", "/v1/teams", None, {A: 200, S: 200, C: 200, O: 200, N: 401}),
        ("post", "/v1/teams", team_body, {A: 201, S: 403, C: 403, O: 403, N: 401}),
        ("get", f"/v1/teams/{t}", None, R),
        ("patch", f"/v1/teams/{t}", lambda: {"name": "North"}, W(200)),
        ("post", f"/v1/teams/{t}/staff", staff_body, W(201)),
        ("get", f"/v1/teams/{t}/staff", None, R),
        ("get", f"/v1/staff/{sid}", None, R),
        ("patch", f"/v1/staff/{sid}", lambda: {"name": "Casey"}, W(200)),
        ("post", f"/v1/staff/{sid}/leave", lambda: span, W(201)),
        ("get", f"/v1/staff/{sid}/leave", None, R),
        ("post", f"/v1/teams/{t}/clients", lambda: {"preferred_name": "Q"}, W(201)),
        ("get", f"/v1/teams/{t}/clients", None, R),
        ("get", f"/v1/clients/{cid}", None, R_client),
        ("patch", f"/v1/clients/{cid}", lambda: {"preferred_name": "Sam"}, W(200)),
        ("put", f"/v1/clients/{cid}/crisis-plan", lambda: {"warning_signs": ["a"]}, W(200)),
        ("get", f"/v1/clients/{cid}/crisis-plan", None, R_client),
        ("get", f"/v1/clients/{cid}/crisis-plan/versions", None, R_client),
        ("post", f"/v1/clients/{cid}/plan-links", None, {A: 201, S: 201, C: 404, O: 404, N: 401}),
        ("post", f"/v1/clients/{cid}/plan-links/revoke", None, W(204)),
        ("get", "/v1/audit", None, {A: 200, S: 200, C: 403, O: 200, N: 401}),
        ("get", f"/v1/audit?team_id={t}", None, {A: 200, S: 200, C: 403, O: 404, N: 401}),
    ]
    failures = []
    # Forbidden callers first, so a refused write cannot hide behind an allowed one.
    order = [C, O, N, S, A]
    for method, path, body, expected in matrix:
        for who in order:
            kwargs = {"headers": auth(keys[who])} if keys[who] else {}
            if body is not None:
                kwargs["json"] = body()
            status = client.request(method.upper(), path, **kwargs).status_code
            if status != expected[who]:
                failures.append((method, path, who, status, expected[who]))
    # Leave deletion: refused callers first, then the supervisor, then 404 for an admin.
    lpath = f"/v1/staff/{sid}/leave/{leave['id']}"
    for who, expected in ((C, 403), (O, 404), (N, 401), (S, 204), (A, 404)):
        kwargs = {"headers": auth(keys[who])} if keys[who] else {}
        status = client.delete(lpath, **kwargs).status_code
        if status != expected:
            failures.append(("delete", lpath, who, status, expected))
    # Ids that do not exist are 404 for everyone with a key, like other teams' ids.
    for path in (
        "/v1/teams/999999",
        "/v1/staff/999999",
        "/v1/clients/999999",
        "/v1/clients/999999/crisis-plan",
        "/v1/teams/999999/staff",
        "/v1/teams/999999/clients",
    ):
        for who in (A, S, C):
            status = client.get(path, headers=auth(keys[who])).status_code
            if status != 404:
                failures.append(("get", path, who, status, 404))
    assert not failures, failures
    # Other teams' rows never show in lists.
    assert [x["id"] for x in client.get("/v1/teams", headers=auth(program.other_key)).json()] == [
        program.other.id
    ]


def test_every_write_is_audited(client, program, session):
    t, sid = program.team.id, program.cm.id
    h = auth(program.sup_key)
    client.patch(f"/v1/teams/{t}", json={"name": "N"}, headers=h)
    new = client.post(
        f"/v1/teams/{t}/staff",
        json={"name": "Z", "phone": "+12015550170", "role": "case_manager"},
        headers=h,
    ).json()
    client.patch(f"/v1/staff/{new['id']}", json={"name": "Zed"}, headers=h)
    leave = client.post(
        f"/v1/staff/{sid}/leave",
        headers=h,
        json={"start": NOW.isoformat(), "end": (NOW + timedelta(days=1)).isoformat()},
    ).json()
    client.delete(f"/v1/staff/{sid}/leave/{leave['id']}", headers=h)
    c = client.post(f"/v1/teams/{t}/clients", json={"preferred_name": "S"}, headers=h).json()
    client.patch(f"/v1/clients/{c['id']}", json={"preferred_name": "T"}, headers=h)
    client.put(f"/v1/clients/{c['id']}/crisis-plan", json={}, headers=h)
    client.post(f"/v1/clients/{c['id']}/plan-links", headers=h)
    client.post(f"/v1/clients/{c['id']}/plan-links/revoke", headers=h)
    client.post("/v1/teams", json=TEAM, headers=auth(program.admin_key))
    session.expire_all()
    actions = set(session.execute(select(AuditLog.action)).scalars())
    assert {
        "team.update",
        "staff.create",
        "staff.update",
        "leave.create",
        "leave.delete",
        "client.create",
        "client.update",
        "crisis_plan.write",
        "plan_link.create",
        "plan_link.revoke",
        "team.create",
    } <= actions
    # A refused write leaves no audit row.
    before = session.execute(select(AuditLog)).scalars().all()
    client.patch(
        f"/v1/clients/{c['id']}", json={"preferred_name": "U"}, headers=auth(program.cm_key)
    )
    session.expire_all()
    assert len(session.execute(select(AuditLog)).scalars().all()) == len(before)
