"""People: clients (phones with their languages, case managers against the
caseload limit) and crisis plans (new versions, versions compared), through
the API's schemas and functions, readable as app.auth.access decides, every
plan page audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import AuditLog
from app.clients.models import Client, ClientPhone, CrisisPlan
from app.console.client_plan_page import plan_diff
from tests.console.conftest import csrf_of, sign_in
from tests.factories import make_client, make_staff


@pytest.fixture(autouse=True)
def _see_redirects(client):
    client.follow_redirects = False


def _client_form(world, **fields) -> dict:
    data = {
        "preferred_name": "Sam",
        "language": "",
        "assigned_case_manager_id": str(world.case_manager.id),
        "backup_case_manager_id": str(world.backup_cm.id),
        "status": "active",
        "phone_rows": "3",
        "phones.0.number": world.client_phone,
        "phones.0.relation": "self",
        "phones.1.number": world.family_phone,
        "phones.1.relation": "family",
    }
    data.update(fields)
    return data


def _plan_reads(session) -> list[dict]:
    rows = session.execute(
        select(AuditLog).where(AuditLog.action == "crisis_plan.read").order_by(AuditLog.id)
    ).scalars()
    return [row.detail for row in rows]


def test_the_list_shows_clients_with_case_managers_against_the_limit(client, db, world):
    sign_in(client, db, world.supervisor)
    page = client.get("/console/clients")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Sam" in page.text
    assert f"Casey Manager (1 of {world.team.caseload_limit})" in page.text


def test_a_phone_added_with_its_language_is_stored_through_the_api_rules(
    client, db, world, session
):
    sign_in(client, db, world.supervisor)
    page = client.get(f"/console/clients/{world.client_row.id}")
    assert "Bea Backup (0 of" in page.text  # the caseload beside each choice
    done = client.post(
        f"/console/clients/{world.client_row.id}",
        data={
            **_client_form(world),
            "phones.2.number": "(201) 555-0177",
            "phones.2.relation": "guardian",
            "phones.2.name": "Abuela",
            "phones.2.language": "es",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert done.status_code == 303, done.text
    phones = session.execute(
        select(ClientPhone)
        .where(ClientPhone.client_id == world.client_row.id)
        .order_by(ClientPhone.id)
    ).scalars()
    assert [(p.number, p.relation, p.name, p.language) for p in phones][-1] == (
        "+12015550177",
        "guardian",
        "Abuela",
        "es",
    )
    update = session.execute(
        select(AuditLog).where(AuditLog.action == "client.update")
    ).scalar_one()
    assert update.detail["fields"] == ["phones"]


def test_a_bad_phone_is_refused_next_to_its_row_and_nothing_changes(client, db, world, session):
    sign_in(client, db, world.supervisor)
    page = client.get(f"/console/clients/{world.client_row.id}")
    refused = client.post(
        f"/console/clients/{world.client_row.id}",
        data={
            **_client_form(world),
            "phones.2.number": "12",
            "phones.2.relation": "family",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert refused.status_code == 422
    assert 'id="phones-2-number-error"' in refused.text
    assert refused.text.index('id="f-phones-2-number"') < refused.text.index(
        'id="phones-2-number-error"'
    )
    count = session.execute(
        select(ClientPhone).where(ClientPhone.client_id == world.client_row.id)
    ).all()
    assert len(count) == 2


def test_the_caseload_limit_refuses_a_full_case_manager(client, db, world, session):
    world.team.caseload_limit = 1
    session.add(world.team)
    session.commit()
    sign_in(client, db, world.supervisor)
    page = client.get("/console/clients/new")
    assert "Casey Manager (1 of 1 clients, full)" in page.text
    refused = client.post(
        "/console/clients",
        data={
            "preferred_name": "Robin",
            "assigned_case_manager_id": str(world.case_manager.id),
            "phone_rows": "1",
            "phones.0.number": "201-555-0160",
            "phones.0.relation": "self",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert refused.status_code == 409 and "caseload limit is 1" in refused.text
    assert session.execute(select(Client).where(Client.preferred_name == "Robin")).first() is None
    done = client.post(
        "/console/clients",
        data={
            "preferred_name": "Robin",
            "assigned_case_manager_id": str(world.backup_cm.id),
            "phone_rows": "1",
            "phones.0.number": "201-555-0160",
            "phones.0.relation": "self",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert done.status_code == 303
    robin = session.execute(select(Client).where(Client.preferred_name == "Robin")).scalar_one()
    assert robin.assigned_case_manager_id == world.backup_cm.id


def test_a_plan_edited_twice_has_versions_and_a_readable_comparison(client, db, world, session):
    sign_in(client, db, world.supervisor)
    cid = world.client_row.id
    form = client.get(f"/console/clients/{cid}/plan/edit")
    token = csrf_of(form.text)
    first = {
        "warning_signs": "Not sleeping\nSkipping meals",
        "people_to_call": "Ana (sister)",
        "preferred_hospital": "St. Mary's",
        "csrf_token": token,
    }
    assert client.post(f"/console/clients/{cid}/plan", data=first).status_code == 303
    second = {**first, "warning_signs": "Not sleeping\nGiving things away"}
    assert client.post(f"/console/clients/{cid}/plan", data=second).status_code == 303
    plans = session.execute(
        select(CrisisPlan).where(CrisisPlan.client_id == cid).order_by(CrisisPlan.version)
    ).scalars()
    assert [(p.version, p.sections["warning_signs"]) for p in plans] == [
        (1, ["Not sleeping", "Skipping meals"]),
        (2, ["Not sleeping", "Giving things away"]),
    ]
    page = client.get(f"/console/clients/{cid}/plan")
    assert "Giving things away" in page.text and "Version 1" in page.text
    compared = client.get(f"/console/clients/{cid}/plan/compare?a=1&b=2")
    assert compared.status_code == 200 and compared.headers["cache-control"] == "no-store"
    html = compared.text
    assert '<del><span class="visually-hidden">removed: </span>Skipping meals</del>' in html
    assert '<ins><span class="visually-hidden">added: </span>Giving things away</ins>' in html
    assert '<li class="same item">Not sleeping</li>' in html
    reads = _plan_reads(session)
    # the edit form, the plan page and both compared versions: each read audited
    assert [(r["via"], r["version"]) for r in reads] == [
        ("console", None),
        ("console", 2),
        ("console", 1),
        ("console", 2),
    ]
    writes = session.execute(
        select(AuditLog).where(AuditLog.action == "crisis_plan.write")
    ).scalars()
    assert [w.detail["version"] for w in writes] == [1, 2]


def test_a_plan_item_too_long_is_refused_next_to_its_section(client, db, world, session):
    sign_in(client, db, world.supervisor)
    cid = world.client_row.id
    token = csrf_of(client.get(f"/console/clients/{cid}/plan/edit").text)
    refused = client.post(
        f"/console/clients/{cid}/plan",
        data={"coping_strategies": "Walk\n" + "x" * 501, "csrf_token": token},
    )
    assert refused.status_code == 422
    assert 'id="coping_strategies-error"' in refused.text and "line 2" in refused.text
    assert session.execute(select(CrisisPlan).where(CrisisPlan.client_id == cid)).first() is None


def test_the_diff_marks_lines_and_keeps_every_heading():
    old = CrisisPlan(client_id=1, version=1, sections={"warning_signs": ["a", "b"]}, notes="n")
    new = CrisisPlan(client_id=1, version=2, sections={"warning_signs": ["a", "c"]}, notes=None)
    rows = plan_diff(old, new)
    changes = [(r["change"], r["text"]) for r in rows if r["kind"] == "item"]
    assert changes == [("same", "a"), ("removed", "b"), ("added", "c"), ("removed", "n")]
    assert sum(r["kind"] == "heading" for r in rows) == 10


def test_a_case_manager_sees_only_their_clients_and_cannot_edit(client, db, world, session):
    theirs_not = make_client(session, world.team, preferred_name="Other Person")
    session.add(CrisisPlan(client_id=theirs_not.id, version=1, sections={}))
    stranger = make_client(session, world.other_team, preferred_name="South Client")
    session.commit()
    sign_in(client, db, world.case_manager)
    listing = client.get("/console/clients").text
    assert "Sam" in listing and "Other Person" not in listing and "South Client" not in listing
    own = client.get(f"/console/clients/{world.client_row.id}")
    assert own.status_code == 200 and 'name="preferred_name"' not in own.text
    for url in (
        f"/console/clients/{theirs_not.id}",
        f"/console/clients/{theirs_not.id}/plan",
        f"/console/clients/{theirs_not.id}/plan/versions/1",
        f"/console/clients/{theirs_not.id}/plan/compare?a=1&b=1",
        f"/console/clients/{stranger.id}",
        f"/console/clients/{stranger.id}/plan",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/console/clients/{world.client_row.id}/plan/edit").status_code == 403
    token = csrf_of(own.text)
    posted = client.post(
        f"/console/clients/{world.client_row.id}/plan",
        data={"warning_signs": "x", "csrf_token": token},
    )
    assert posted.status_code == 403
    assert _plan_reads(session) == []


def test_a_supervisor_cannot_reach_another_teams_client(client, db, world, session):
    stranger = make_client(session, world.other_team, preferred_name="South Client")
    make_staff(session, world.other_team, name="South CM")
    session.commit()
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get("/console/clients").text)
    assert client.get(f"/console/clients/{stranger.id}").status_code == 404
    assert client.get(f"/console/clients/{stranger.id}/plan/edit").status_code == 404
    posted = client.post(
        f"/console/clients/{stranger.id}",
        data={**_client_form(world), "csrf_token": token},
    )
    assert posted.status_code == 404
