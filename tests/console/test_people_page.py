"""People: the staff list and the staff forms, checked by the API's schemas
and applied by the API's functions (app.teams.staff_changes); errors next to
the field they name; deactivation refused while the person holds clients."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import AuditLog
from app.teams.models import Staff
from tests.console.conftest import csrf_of, sign_in
from tests.factories import make_staff


@pytest.fixture(autouse=True)
def _see_redirects(client):
    client.follow_redirects = False


def _form(**fields) -> dict:
    base = {
        "name": "Nina New",
        "phone": "201-555-0190",
        "role": "case_manager",
        "language": "es",
        "languages_spoken": ["es", "en"],
        "rules_shown": "1",
        "rule-0-channel": "sms",
        "rule-0-after_seconds": "0",
        "rule-1-channel": "call",
        "rule-1-after_seconds": "90",
    }
    base.update(fields)
    return base


def test_the_list_shows_staff_with_rules_languages_and_caseload_against_the_limit(
    client, db, world
):
    sign_in(client, db, world.supervisor)
    page = client.get("/console/people")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Casey Manager" in page.text and "Sue Visor" in page.text
    assert f"1 of {world.team.caseload_limit}" in page.text  # Casey holds Sam
    assert "text at 0 s, call at 60 s" in page.text  # the default rules
    assert 'href="/console/people/new"' in page.text


def test_a_supervisor_adds_a_person_with_rules_and_languages(client, db, world, session):
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get("/console/people/new").text)
    done = client.post("/console/people", data={**_form(), "csrf_token": token})
    assert done.status_code == 303, done.text
    person = session.execute(select(Staff).where(Staff.name == "Nina New")).scalars().one()
    assert person.phone == "+12015550190" and person.team_id == world.team.id
    assert person.language == "es" and person.languages_spoken == ["es", "en"]
    assert person.notify_rules == [
        {"channel": "sms", "after_seconds": 0},
        {"channel": "call", "after_seconds": 90},
    ]
    assert done.headers["location"] == f"/console/people/{person.id}?done=created"
    audit = session.execute(select(AuditLog).where(AuditLog.action == "staff.create")).scalars()
    assert [row.record_id for row in audit] == [person.id]


def test_a_rule_past_the_ack_timeout_is_refused_next_to_its_field_and_nothing_changes(
    client, db, world, session
):
    sign_in(client, db, world.supervisor)
    page = client.get(f"/console/people/{world.case_manager.id}")
    refused = client.post(
        f"/console/people/{world.case_manager.id}",
        data={
            **_form(name="Casey Manager", phone=world.case_manager.phone),
            "rule-1-after_seconds": "300",  # the team's ack timeout is 300 s
            "csrf_token": csrf_of(page.text),
        },
    )
    assert refused.status_code == 422
    html = refused.text
    field = html.index('id="rule-1-after_seconds"')
    message = html.index('id="notify_rules-1-after_seconds-error"')
    assert field < message < html.index('id="rule-2-channel"')
    assert "acknowledgement timeout (300 s)" in html
    assert 'aria-describedby="notify_rules-1-after_seconds-error"' in html
    session.expire_all()
    assert session.get(Staff, world.case_manager.id).notify_rules is None


def test_a_form_error_from_the_schema_names_the_field(client, db, world, session):
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get("/console/people/new").text)
    refused = client.post(
        "/console/people",
        data={
            **_form(name="", phone="not a phone", **{"rule-0-after_seconds": "soon"}),
            "csrf_token": token,
        },
    )
    assert refused.status_code == 422
    assert 'id="name-error"' in refused.text and "is required" in refused.text
    assert 'id="notify_rules-0-after_seconds-error"' in refused.text
    assert session.execute(select(Staff).where(Staff.phone == "+12015550190")).first() is None


def test_a_service_rule_error_names_the_field(client, db, world):
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get("/console/people/new").text)
    refused = client.post("/console/people", data={**_form(phone="555"), "csrf_token": token})
    assert refused.status_code == 422 and 'id="phone-error"' in refused.text


def test_deactivation_is_refused_while_they_hold_a_client_and_lists_it(client, db, world, session):
    sign_in(client, db, world.supervisor)
    page = client.get(f"/console/people/{world.case_manager.id}")
    refused = client.post(
        f"/console/people/{world.case_manager.id}/active",
        data={"active": "false", "csrf_token": csrf_of(page.text)},
    )
    assert refused.status_code == 409
    assert f"client {world.client_row.id} (assigned case manager)" in refused.text
    free = make_staff(session, world.team, name="Free Person")
    session.commit()
    done = client.post(
        f"/console/people/{free.id}/active",
        data={"active": "false", "csrf_token": csrf_of(page.text)},
    )
    assert done.status_code == 303
    session.expire_all()
    assert session.get(Staff, free.id).active is False


def test_a_case_manager_sets_only_their_own_rules(client, db, world, session):
    sign_in(client, db, world.case_manager)
    assert 'href="/console/people/new"' not in client.get("/console/people").text
    own = client.get(f"/console/people/{world.case_manager.id}")
    assert 'name="name"' not in own.text and 'name="rule-0-channel"' in own.text
    done = client.post(
        f"/console/people/{world.case_manager.id}",
        data={**_form(name="Renamed"), "csrf_token": csrf_of(own.text)},
    )
    assert done.status_code == 303
    session.expire_all()
    me = session.get(Staff, world.case_manager.id)
    assert me.name == "Casey Manager"  # only the rules are theirs to set
    assert me.notify_rules[1] == {"channel": "call", "after_seconds": 90}
    other = client.get(f"/console/people/{world.supervisor.id}")
    assert other.status_code == 200 and 'name="rule-0-channel"' not in other.text
    refused = client.post(
        f"/console/people/{world.supervisor.id}",
        data={**_form(), "csrf_token": csrf_of(own.text)},
    )
    assert refused.status_code == 403
    assert client.get("/console/people/new").status_code == 403


def test_another_teams_person_is_not_found(client, db, world, session):
    stranger = make_staff(session, world.other_team, name="South Person")
    session.commit()
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get("/console/people").text)
    assert client.get(f"/console/people/{stranger.id}").status_code == 404
    posted = client.post(f"/console/people/{stranger.id}", data={**_form(), "csrf_token": token})
    assert posted.status_code == 404
    assert "South Person" not in client.get("/console/people").text


def test_forms_without_the_csrf_token_are_refused(client, db, world, session):
    sign_in(client, db, world.supervisor)
    assert client.post("/console/people", data=_form()).status_code == 403
    assert (
        client.post(f"/console/people/{world.case_manager.id}/active", data={"active": "false"})
    ).status_code == 403
    assert session.execute(select(Staff).where(Staff.name == "Nina New")).first() is None


def test_working_hours_are_set_by_window_and_a_bad_time_is_named(client, db, world, session):
    sign_in(client, db, world.supervisor)
    page = client.get(f"/console/people/{world.oncall.id}")
    assert 'name="hours-0-days"' in page.text
    base = {
        **_form(name="Owen Call", phone=world.oncall.phone),
        "hours_shown": "1",
        "csrf_token": csrf_of(page.text),
    }
    refused = client.post(
        f"/console/people/{world.oncall.id}",
        data={
            **base,
            "hours-0-days": ["mon", "tue"],
            "hours-0-start": "9am",
            "hours-0-end": "17:00",
            "hours-1-start": "08:00",
            "hours-1-end": "12:00",
        },
    )
    assert refused.status_code == 422
    assert 'id="working_hours-0-start-error"' in refused.text
    assert 'id="working_hours-1-days-error"' in refused.text and "choose at least one" in (
        refused.text
    )
    assert 'value="9am"' in refused.text  # what was typed stays in the field
    done = client.post(
        f"/console/people/{world.oncall.id}",
        data={
            **base,
            "hours-0-days": ["mon", "tue", "wed", "thu", "fri"],
            "hours-0-start": "09:00",
            "hours-0-end": "17:00",
        },
    )
    assert done.status_code == 303, done.text
    session.expire_all()
    assert session.get(Staff, world.oncall.id).working_hours == [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    ]
    update = (
        session.execute(
            select(AuditLog).where(AuditLog.action == "staff.update").order_by(AuditLog.id.desc())
        )
        .scalars()
        .first()
    )
    assert "working_hours" in update.detail["fields"]
