"""The on-call page: now and next for each rota and coverage gaps (the
API's service functions), and an override form validated by the API's
schema and service, whose override the on-call API then reports."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.auth.models import AuditLog
from app.oncall.models import Rota, RotaOverride
from app.teams.models import Leave
from tests.console.conftest import csrf_of, sign_in
from tests.factories import make_staff

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
NY = ZoneInfo("America/New_York")


def _rota(session, world) -> Rota:
    return session.execute(select(Rota).where(Rota.team_id == world.team.id)).scalars().one()


def _local(value) -> str:
    return value.astimezone(NY).strftime("%Y-%m-%dT%H:%M")


def _time_off(token: str, staff_id: int, start, end) -> dict[str, str]:
    """The override and the leave form as a supervisor fills them in."""
    return {
        "csrf_token": token,
        "staff_id": str(staff_id),
        "start": _local(start),
        "end": _local(end),
        "reason": SCRIPT,
    }


def _api_oncall(client, world, rota, at):
    return client.get(
        f"/v1/rotas/{rota.id}/oncall?at={quote(at.isoformat())}",
        headers={"Authorization": f"Bearer {world.supervisor_key}"},
    ).json()


def test_the_page_shows_now_and_no_gaps_and_a_gap_when_the_rota_empties(
    client, db, world, session, clock
):
    rota = _rota(session, world)
    sign_in(client, db, world.case_manager)  # case managers see who is on call
    page = client.get("/console/oncall")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Owen Call" in page.text and "Primary" in page.text
    assert "None: the primary rota has someone on call throughout." in page.text
    assert "Add an override" not in page.text  # supervisors only
    rota.layers = []
    session.add(rota)
    session.commit()
    emptied = client.get("/console/oncall").text
    assert 'class="gap"' in emptied and "None: the primary" not in emptied


def test_an_override_added_by_form_is_what_the_oncall_api_reports(
    client, db, world, session, clock
):
    rota = _rota(session, world)
    start = clock.now + timedelta(hours=1)
    end = clock.now + timedelta(hours=3)
    assert _api_oncall(client, world, rota, start + timedelta(minutes=30))["staff"]["name"] == (
        "Owen Call"
    )
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get("/console/oncall").text)
    done = client.post(
        f"/console/oncall/rotas/{rota.id}/overrides",
        data=_time_off(token, world.case_manager.id, start, end),
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    reported = _api_oncall(client, world, rota, start + timedelta(minutes=30))
    assert reported["staff"]["name"] == "Casey Manager" and reported["source"] == "override"
    assert _api_oncall(client, world, rota, end + timedelta(minutes=1))["staff"]["name"] == (
        "Owen Call"
    )
    page = client.get(done.headers["location"])
    assert "Override added." in page.text
    assert "Casey Manager (override)" in page.text  # next on call
    with db.session() as s:
        row = s.execute(select(RotaOverride)).scalars().one()
        assert row.reason == SCRIPT


def test_bad_override_input_shows_errors_next_to_fields_and_changes_nothing(
    client, db, world, session, clock
):
    rota = _rota(session, world)
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get("/console/oncall").text)
    url = f"/console/oncall/rotas/{rota.id}/overrides"
    start = _local(clock.now + timedelta(hours=2))
    backwards = client.post(
        url,
        data={
            "csrf_token": token,
            "staff_id": str(world.oncall.id),
            "start": start,
            "end": _local(clock.now + timedelta(hours=1)),
            "reason": SCRIPT,
        },
    )
    assert backwards.status_code == 422
    assert f'id="end-{rota.id}-error"' in backwards.text and "must be after start" in backwards.text
    assert "<script>alert" not in backwards.text and ESCAPED in backwards.text  # reason kept
    missing = client.post(url, data={"csrf_token": token, "start": "not a time", "end": ""})
    assert missing.status_code == 422
    for name in ("staff_id", "start", "end"):
        assert f'id="{name}-{rota.id}-error"' in missing.text
    other_team_staff = client.post(
        url,
        data={
            "csrf_token": token,
            "staff_id": "999999",
            "start": start,
            "end": _local(clock.now + timedelta(hours=3)),
        },
    )
    assert other_team_staff.status_code == 422
    assert f'id="staff_id-{rota.id}-error"' in other_team_staff.text
    assert client.post(url, data={"staff_id": str(world.oncall.id)}).status_code == 403  # no CSRF
    with db.session() as s:
        assert s.execute(select(RotaOverride)).scalars().all() == []
    client.cookies.clear()
    sign_in(client, db, world.case_manager)
    token = csrf_of(client.get("/console/oncall").text)
    assert client.post(url, data={"csrf_token": token}).status_code == 403


def test_names_on_the_oncall_page_are_escaped(client, db, world, session, clock):
    rota = _rota(session, world)
    rota.name = SCRIPT
    world.oncall.name = SCRIPT
    session.add_all([rota, world.oncall])
    session.commit()
    sign_in(client, db, world.supervisor)
    page = client.get("/console/oncall")
    assert "<script>alert" not in page.text and ESCAPED in page.text


def test_leave_added_by_form_is_stored_audited_and_listed(client, db, world, session, clock):
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get("/console/oncall").text)
    start, end = clock.now + timedelta(days=2), clock.now + timedelta(days=5)
    done = client.post(
        "/console/oncall/leave",
        data=_time_off(token, world.case_manager.id, start, end),
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/console/oncall?done=leave"
    with db.session() as s:
        leave = s.execute(select(Leave)).scalars().one()
        assert (leave.staff_id, leave.start, leave.end) == (world.case_manager.id, start, end)
        actions = [a.action for a in s.execute(select(AuditLog)).scalars()]
        assert "leave.create" in actions
    page = client.get(done.headers["location"]).text
    assert "Leave added." in page
    assert f"Casey Manager: {start.astimezone(NY):%a %d %b %H:%M}" in page and ESCAPED in page
    api = client.get(
        f"/v1/staff/{world.case_manager.id}/leave",
        headers={"Authorization": f"Bearer {world.supervisor_key}"},
    ).json()
    assert len(api) == 1 and api[0]["reason"] == SCRIPT


def test_bad_leave_shows_errors_next_to_fields_and_changes_nothing(
    client, db, world, session, clock
):
    outsider = make_staff(session, world.other_team, name="Otto Side")
    session.commit()
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get("/console/oncall").text)
    later, sooner = _local(clock.now + timedelta(days=2)), _local(clock.now + timedelta(days=1))
    cases = {
        "end": {"staff_id": str(world.oncall.id), "start": later, "end": sooner},
        "staff_id": {"staff_id": str(outsider.id), "start": sooner, "end": later},
        "start": {"staff_id": str(world.oncall.id), "start": "soon", "end": later},
    }
    for name, data in cases.items():
        refused = client.post("/console/oncall/leave", data={"csrf_token": token, **data})
        assert refused.status_code == 422, name
        assert f'id="{name}-leave-error"' in refused.text, name
    empty = client.post("/console/oncall/leave", data={"csrf_token": token})
    for name in ("staff_id", "start", "end"):
        assert f'id="{name}-leave-error"' in empty.text
    with db.session() as s:
        assert s.execute(select(Leave)).scalars().all() == []
    client.cookies.clear()
    sign_in(client, db, world.case_manager)
    token = csrf_of(client.get("/console/oncall").text)
    assert "Add leave" not in client.get("/console/oncall").text
    assert client.post("/console/oncall/leave", data={"csrf_token": token}).status_code == 403


def test_my_calendar_link_is_the_feed_of_my_own_shifts(app, client, db, world, session, clock):
    sign_in(client, db, world.oncall)
    page = client.get("/console/oncall").text
    assert "Make my calendar link" in page
    made = client.post("/console/oncall/calendar-link", data={"csrf_token": csrf_of(page)})
    assert made.status_code == 200
    url = re.search(r'id="calendar-url" type="text" readonly value="([^"]+)"', made.text).group(1)
    path = urlsplit(url).path
    assert url.startswith(f"{app.state.settings.public_base_url}/calendar/")
    assert path.startswith("/calendar/") and path.endswith(".ics")
    feed = client.get(path)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert "On call: Primary (Owen Call)" in feed.text
    again = client.post("/console/oncall/calendar-link", data={"csrf_token": csrf_of(page)})
    assert "Make another link" in again.text
    assert client.get(path).status_code == 404  # replaced
    with db.session() as s:
        audits = s.execute(
            select(AuditLog).where(AuditLog.action == "calendar_token.create")
        ).scalars()
        assert [a.record_id for a in audits] == [world.oncall.id, world.oncall.id]
