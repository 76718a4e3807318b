"""The People pages in a real browser (Debian's chromium through
Playwright): a staff member added, their notification rules refused next
to the field and then saved by keyboard alone, a client's phone added, a
crisis plan edited and two versions compared, another team's ids answering
404; axe-core on every page, and no CSP violation."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.clients.models import ClientPhone, CrisisPlan
from app.teams.models import Staff
from tests.console.browser import check_accessible, csp_violations, sign_in
from tests.factories import make_client, make_team


def _staff_named(live, name: str) -> Staff | None:
    with live.db.session() as s:
        row = s.execute(select(Staff).where(Staff.name == name)).scalars().first()
        s.expunge_all()
    return row


def test_adding_a_person_then_fixing_their_rules_by_keyboard(page, live):
    sign_in(page, live, live.people["supervisor"])
    page.get_by_role("link", name="People").click()
    page.wait_for_url("**/console/people")
    assert page.get_by_role("cell", name="Casey Manager").is_visible()
    check_accessible(page)

    page.get_by_role("link", name="Add a staff member").click()
    page.wait_for_url("**/console/people/new")
    check_accessible(page)
    page.get_by_label("Name").fill("Nina Nuevo")
    page.get_by_label("Mobile number").fill("(201) 555-0195")
    page.get_by_label("Language of their texts").select_option("es")
    page.get_by_role("checkbox", name="ES").check()
    page.get_by_role("button", name="Add staff member").click()
    page.get_by_text("Added.").wait_for()
    nina = _staff_named(live, "Nina Nuevo")
    assert nina is not None and nina.phone == "+12015550195" and nina.language == "es"
    assert nina.languages_spoken == ["es"]

    # A call after the acknowledgement timeout (300 s) would never fire.
    after = page.get_by_label("Rule 2: after (seconds)")
    after.fill("400")
    page.get_by_role("button", name="Save").click()
    error = page.locator("#notify_rules-1-after_seconds-error")
    error.wait_for()
    assert "acknowledgement timeout (300 s)" in error.inner_text()
    field = page.get_by_label("Rule 2: after (seconds)")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == "notify_rules-1-after_seconds-error"
    # the message sits right under its field
    assert field.evaluate("f => f.nextElementSibling.id") == "notify_rules-1-after_seconds-error"
    check_accessible(page)
    assert _staff_named(live, "Nina Nuevo").notify_rules is None

    # Fixed and saved with the keyboard alone: type, Tab to Save, Enter.
    field.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("120")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Save":
            break
    assert page.evaluate("document.activeElement.textContent") == "Save"
    page.keyboard.press("Enter")
    page.get_by_text("Saved.").wait_for()
    assert _staff_named(live, "Nina Nuevo").notify_rules == [
        {"channel": "sms", "after_seconds": 0},
        {"channel": "call", "after_seconds": 120},
    ]
    assert csp_violations(page) == []


def test_a_phone_added_to_a_client_with_its_language(page, live):
    sign_in(page, live, live.people["supervisor"])
    page.goto("/console/clients")
    check_accessible(page)
    page.get_by_role("link", name="Sam", exact=True).click()
    page.wait_for_url(re.compile(r".*/console/clients/\d+$"))
    check_accessible(page)
    page.get_by_label("Phone 2: number").fill("201-555-0177")
    page.get_by_label("Phone 2: whose").select_option("guardian")
    page.get_by_label("Phone 2: their name (optional)").fill("Abuela Rosa")
    page.get_by_label("Phone 2: language").select_option("es")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    assert page.get_by_label("Phone 2: number").input_value() == "+12015550177"
    with live.db.session() as s:
        phones = [
            (p.number, p.relation, p.name, p.language)
            for p in s.execute(
                select(ClientPhone)
                .where(ClientPhone.client_id == live.client_row.id)
                .order_by(ClientPhone.id)
            ).scalars()
        ]
    assert phones == [
        ("+12015550150", "self", None, None),
        ("+12015550177", "guardian", "Abuela Rosa", "es"),
    ]
    check_accessible(page)
    assert csp_violations(page) == []


def test_a_plan_edited_twice_and_its_versions_compared(page, live):
    sign_in(page, live, live.people["supervisor"])
    page.goto(f"/console/clients/{live.client_row.id}/plan")
    assert page.get_by_text("No crisis plan on file.").is_visible()
    check_accessible(page)
    for signs in ("Not sleeping\nSkipping meals", "Not sleeping\nGiving things away"):
        page.get_by_role("link", name="Edit (saves a new version)").click()
        page.wait_for_url("**/plan/edit")
        check_accessible(page)
        page.get_by_label("Warning signs").fill(signs)
        page.get_by_label("Preferred hospital").fill("St. Mary's")
        page.get_by_role("button", name="Save as a new version").click()
        page.get_by_text("New plan version saved.").wait_for()
    check_accessible(page)
    page.get_by_label("Older").select_option("1")
    page.get_by_label("Newer").select_option("2")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/plan/compare?a=1&b=2")
    assert page.locator(".diff del", has_text="Skipping meals").is_visible()
    assert page.locator(".diff ins", has_text="Giving things away").is_visible()
    check_accessible(page)
    with live.db.session() as s:
        versions = [
            p.version
            for p in s.execute(
                select(CrisisPlan).where(CrisisPlan.client_id == live.client_row.id)
            ).scalars()
        ]
    assert sorted(versions) == [1, 2]
    assert csp_violations(page) == []


def test_a_case_manager_reaches_no_other_teams_ids(page, live):
    with live.db.session() as s:
        south = make_team(s, name="South ICM", crisis_line_number="+19735550109")
        stranger = make_client(s, south, preferred_name="South Client")
        s.add(CrisisPlan(client_id=stranger.id, version=1, sections={}))
        s.commit()
        stranger_id = stranger.id
    sign_in(page, live, live.people["case_manager"])
    for url in (
        f"/console/clients/{stranger_id}",
        f"/console/clients/{stranger_id}/plan",
        f"/console/clients/{stranger_id}/plan/compare?a=1&b=1",
    ):
        response = page.goto(url)
        assert response.status == 404, url
        assert page.get_by_role("heading", name="Not found").is_visible()
    check_accessible(page)
    page.goto("/console/clients")
    assert page.get_by_role("link", name="Sam", exact=True).is_visible()
    assert page.get_by_text("South Client").count() == 0
    check_accessible(page)
