"""Every page renders user-entered text as text: a `<script>` in every field
a person or a caller can fill shows up escaped, never as markup."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.clients.models import PLAN_SECTIONS, ClientPhone, CrisisPlan
from app.contacts.models import Contact
from app.oncall.models import Rota, RotaOverride
from app.teams.models import Leave
from tests.console.conftest import ask_code, csrf_of, sign_in, text_in

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def _assert_inert(html: str, *, expect_escaped: bool = True) -> None:
    assert "<script>alert" not in html
    if expect_escaped:
        assert ESCAPED in html


def test_script_in_every_user_entered_field_is_escaped_on_every_page(client, db, world, session):
    world.client_row.preferred_name = SCRIPT
    world.case_manager.name = SCRIPT
    world.supervisor.name = SCRIPT + " Sue"
    session.add_all([world.client_row, world.case_manager, world.supervisor])
    session.add(
        CrisisPlan(
            client_id=world.client_row.id,
            version=1,
            sections={name: [SCRIPT] for name in PLAN_SECTIONS},
            notes=SCRIPT,
            preferred_hospital=SCRIPT,
            advance_directive_notes=SCRIPT,
        )
    )
    session.commit()
    text_in(client, world, world.client_phone, SCRIPT)
    contact = session.execute(select(Contact).order_by(Contact.id.desc())).scalars().first()

    # the sign-in page echoes what was typed in the phone field
    _assert_inert(ask_code(client, SCRIPT).text)

    sign_in(client, db, world.supervisor)
    board = client.get("/console")
    _assert_inert(board.text)
    _assert_inert(client.get("/console/board").text)

    page = client.get(f"/console/contacts/{contact.id}")
    token = csrf_of(page.text)
    client.post(f"/console/contacts/{contact.id}/notes", data={"csrf_token": token, "text": SCRIPT})
    refused = client.post(
        f"/console/contacts/{contact.id}/resolve",
        data={"csrf_token": token, "outcome": SCRIPT, "risk_level": SCRIPT, "notes": SCRIPT},
    )
    _assert_inert(refused.text)
    client.post(
        f"/console/contacts/{contact.id}/resolve",
        data={
            "csrf_token": token,
            "outcome": "non_crisis",
            "risk_level": "low",
            "notes": SCRIPT,
            "referrals": SCRIPT,
        },
    )
    html = client.get(f"/console/contacts/{contact.id}").text
    _assert_inert(html)
    assert html.count(ESCAPED) >= len(PLAN_SECTIONS) + 5  # plan, name, caller, note, staff
    # every page's only scripts are the vendored file
    for text in (board.text, html):
        assert text.count("<script") == 1 and 'src="/console/static/vendor/htmx.min.js"' in text


def test_script_in_every_field_is_escaped_on_the_people_pages(client, db, world, session):
    world.client_row.preferred_name = SCRIPT
    world.case_manager.name = SCRIPT
    world.team.name = SCRIPT
    session.add_all([world.client_row, world.case_manager, world.team])
    phone = session.execute(
        select(ClientPhone).where(ClientPhone.number == world.family_phone)
    ).scalar_one()
    phone.name = SCRIPT
    session.add(phone)
    for version in (1, 2):
        session.add(
            CrisisPlan(
                client_id=world.client_row.id,
                version=version,
                sections={name: [SCRIPT, f"{SCRIPT} {version}"] for name in PLAN_SECTIONS},
                notes=SCRIPT,
                preferred_hospital=SCRIPT,
                advance_directive_notes=SCRIPT,
                created_by=SCRIPT,
            )
        )
    session.commit()
    sign_in(client, db, world.supervisor)
    cid = world.client_row.id
    pages = {
        url: client.get(url)
        for url in (
            "/console/people",
            f"/console/people/{world.case_manager.id}",
            "/console/clients",
            f"/console/clients/{cid}",
            "/console/clients/new",
            f"/console/clients/{cid}/plan",
            f"/console/clients/{cid}/plan/versions/1",
            f"/console/clients/{cid}/plan/compare?a=1&b=2",
            f"/console/clients/{cid}/plan/edit",
        )
    }
    for url, page in pages.items():
        assert page.status_code == 200, url
        _assert_inert(page.text)
        assert page.text.count("<script") == 1, url
    # a refused form shows what was typed, as text
    token = csrf_of(pages["/console/people"].text)
    refused = [
        client.post(
            "/console/people",
            data={
                "csrf_token": token,
                "name": SCRIPT,
                "phone": SCRIPT,
                "role": SCRIPT,
                "language": SCRIPT,
                "languages_spoken": SCRIPT,
                "rules_shown": "1",
                "rule-0-channel": SCRIPT,
                "rule-0-after_seconds": SCRIPT,
                "hours_shown": "1",
                "hours-0-days": SCRIPT,
                "hours-0-start": SCRIPT,
                "hours-0-end": SCRIPT,
            },
        ),
        client.post(
            f"/console/clients/{cid}",
            data={
                "csrf_token": token,
                "preferred_name": SCRIPT,
                "language": SCRIPT,
                "assigned_case_manager_id": SCRIPT,
                "phone_rows": "1",
                "phones.0.number": SCRIPT,
                "phones.0.relation": SCRIPT,
                "phones.0.name": SCRIPT,
                "phones.0.language": SCRIPT,
            },
        ),
        client.post(
            f"/console/clients/{cid}/plan",
            data={"csrf_token": token, "notes": SCRIPT, "warning_signs": SCRIPT + "x" * 500},
        ),
    ]
    for response in refused:
        assert response.status_code == 422
        _assert_inert(response.text)


def test_script_in_every_field_is_escaped_on_the_oncall_rota_and_reports_pages(
    client, db, world, session, clock
):
    rota = session.execute(select(Rota).where(Rota.team_id == world.team.id)).scalars().one()
    rota.name = SCRIPT
    layer = dict(rota.layers[0])
    layer["name"] = SCRIPT
    rota.layers = [layer]
    world.team.name = SCRIPT
    world.oncall.name = SCRIPT
    world.case_manager.name = SCRIPT + " Casey"
    session.add_all([rota, world.team, world.oncall, world.case_manager])
    session.add(
        Leave(
            staff_id=world.case_manager.id,
            start=clock.now + timedelta(days=1),
            end=clock.now + timedelta(days=2),
            reason=SCRIPT,
        )
    )
    session.add(
        RotaOverride(
            rota_id=rota.id,
            staff_id=world.case_manager.id,
            start=clock.now + timedelta(hours=1),
            end=clock.now + timedelta(hours=2),
            reason=SCRIPT,
        )
    )
    session.commit()
    sign_in(client, db, world.supervisor)

    oncall = client.get("/console/oncall").text
    _assert_inert(oncall)
    assert oncall.count(ESCAPED) >= 4  # rota, on call now, override next, leave and its reason
    week = client.get(f"/console/oncall/rotas/{rota.id}").text
    _assert_inert(week)
    _assert_inert(client.get(f"/console/oncall/rotas/{rota.id}?view=month").text)
    token = csrf_of(oncall)
    every_field = {
        "csrf_token": token,
        "name": SCRIPT,
        "layer_slots": "1",
        "layer-0-name": SCRIPT,
        "layer-0-length": SCRIPT,
        "layer-0-unit": SCRIPT,
        "layer-0-start": SCRIPT,
        "layer-0-participant": [SCRIPT],
        "layer-0-restriction_slots": "1",
        "layer-0-r0-days": [SCRIPT],
        "layer-0-r0-start": SCRIPT,
        "layer-0-r0-end": SCRIPT,
    }
    refused = client.post(f"/console/oncall/rotas/{rota.id}/layers", data=every_field)
    assert refused.status_code == 422
    _assert_inert(refused.text)
    time_off = {name: SCRIPT for name in ("staff_id", "start", "end", "reason")}
    leave = client.post("/console/oncall/leave", data={"csrf_token": token, **time_off})
    assert leave.status_code == 422
    _assert_inert(leave.text)
    override = client.post(
        f"/console/oncall/rotas/{rota.id}/overrides", data={"csrf_token": token, **time_off}
    )
    _assert_inert(override.text)
    reports = client.get("/console/reports")
    _assert_inert(reports.text)  # the team's name
    bad_dates = client.get("/console/reports", params={"start": SCRIPT, "end": SCRIPT})
    assert bad_dates.status_code == 422
    _assert_inert(bad_dates.text)
    for html in (oncall, week, reports.text):
        assert html.count("<script") == 1 and 'src="/console/static/vendor/htmx.min.js"' in html
