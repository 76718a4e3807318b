"""The on-call, rota and reports pages in a real browser (Debian's chromium
through Playwright, against the app served by uvicorn on the real clock):
an override the on-call API then reports, a rota edit refused for its gaps
and then published on purpose, leave added by keyboard alone, a report for
a date range and its CSV download, and a 360 px screen; axe-core on every
page and no CSP violation."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from app.oncall.models import Rota
from app.teams.models import Leave
from tests.console.browser import check_accessible, csp_violations, sign_in
from tests.factories import make_key

NY = ZoneInfo("America/New_York")


def _rota(live) -> Rota:
    with live.db.session() as s:
        rota = s.execute(select(Rota)).scalars().one()
        s.expunge_all()
    return rota


def _api_key(live) -> str:
    with live.db.session() as s:
        key = make_key(s, "supervisor", live.team)
        s.commit()
    return key


def test_an_override_added_in_the_browser_is_what_the_oncall_api_reports(page, live):
    rota = _rota(live)
    sign_in(page, live, live.people["supervisor"])
    page.get_by_role("link", name="On call").click()
    page.wait_for_url("**/console/oncall")
    check_accessible(page)
    now = datetime.now(NY).replace(second=0, microsecond=0)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    form = page.locator("form.override-form")
    form.get_by_label("Who covers").select_option(label="Casey Manager")
    form.get_by_label("Start").fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("End").fill(end.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Reason (optional)").fill("I'll cover this evening")
    form.get_by_role("button", name="Add override").click()
    page.get_by_text("Override added.").wait_for()
    assert "Casey Manager (override)" in page.inner_text(f"#rota-{rota.id}")
    check_accessible(page)
    reported = httpx.get(
        f"{live.url}/v1/rotas/{rota.id}/oncall",
        headers={"Authorization": f"Bearer {_api_key(live)}"},
        timeout=10,
    ).json()
    assert reported["staff"]["name"] == "Casey Manager" and reported["source"] == "override"
    assert csp_violations(page) == []


def test_a_rota_edit_refused_for_gaps_then_published_on_purpose(page, live):
    rota = _rota(live)
    sign_in(page, live, live.people["supervisor"])
    page.goto("/console/oncall")
    page.get_by_role("link", name=re.compile("^Calendar and layers")).click()
    page.wait_for_url(f"**/console/oncall/rotas/{rota.id}")
    assert "Someone is on call throughout." in page.inner_text("main")
    check_accessible(page)

    layer = page.locator("fieldset.layer").first
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        layer.get_by_role("checkbox", name=day, exact=True).check()
    layer.get_by_label("From").fill("09:00")
    layer.get_by_label("Until").fill("17:00")
    page.get_by_role("button", name="Save layers").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "leaves nobody on call in the next 14 days" in alert.inner_text()
    assert page.locator("ul.gaps li.gap").count() >= 10  # every night and the weekend
    assert "Gap: nobody on call" in page.locator("ul.gaps").inner_text()
    check_accessible(page)
    assert _rota(live).layers[0]["restrictions"] == []  # refused: nothing changed

    publish = page.get_by_role("button", name="Publish with these gaps")
    publish.focus()
    page.keyboard.press("Enter")
    page.get_by_text("Layers published with coverage gaps.").wait_for()
    assert _rota(live).layers[0]["restrictions"] == [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    ]
    gap = page.locator("li.entry.gap").first
    assert gap.inner_text().startswith("Gap: nobody on call")
    assert gap.evaluate("e => getComputedStyle(e).color") == "rgb(155, 28, 28)"  # red
    page.get_by_role("link", name="Month view").click()
    page.wait_for_url("**view=month**")
    assert page.locator("li.day.has-gap").count() >= 20
    check_accessible(page)
    assert csp_violations(page) == []


def _tab_to(page, element_id: str) -> None:
    """Tab until `element_id` has the focus (a date-time field's parts and
    its picker button take Tabs of their own)."""
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_leave_added_by_keyboard_alone(page, live):
    sign_in(page, live, live.people["supervisor"])
    page.goto("/console/oncall")
    tomorrow = (datetime.now(NY) + timedelta(days=1)).date()
    page.get_by_label("Who is away").focus()
    page.keyboard.type("Casey")
    _tab_to(page, "start-leave")
    # Chromium's datetime-local takes its parts in order (month, day, year,
    # hour, minute, AM/PM); the year takes more than four digits, so an arrow
    # moves on to the hour.
    page.keyboard.type(tomorrow.strftime("%m%d%Y"))
    page.keyboard.press("ArrowRight")
    page.keyboard.type("0900A")
    _tab_to(page, "end-leave")
    page.keyboard.type((tomorrow + timedelta(days=2)).strftime("%m%d%Y"))
    page.keyboard.press("ArrowRight")
    page.keyboard.type("0500P")
    _tab_to(page, "reason-leave")
    page.keyboard.type("training")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".field-error").all_inner_texts() == []
    page.get_by_text("Leave added.").wait_for()
    with live.db.session() as s:
        leave = s.execute(select(Leave)).scalars().one()
    assert leave.staff_id == live.people["case_manager"].id
    assert leave.start.astimezone(NY) == datetime.combine(
        tomorrow, datetime.min.time(), NY
    ).replace(hour=9)
    assert leave.reason == "training"
    assert "Casey Manager:" in page.locator(".leave-list").inner_text()
    check_accessible(page)


def test_a_report_for_a_date_range_and_its_csv(page, live):
    live.post_sms(live.client_phone, "I need to talk")
    sign_in(page, live, live.people["supervisor"])
    page.locator(".card", has_text="Sam").wait_for(timeout=5_000)
    page.get_by_role("link", name="Reports").click()
    page.wait_for_url("**/console/reports")
    check_accessible(page)
    today = datetime.now(NY).date()
    page.get_by_label("From", exact=True).fill((today - timedelta(days=6)).isoformat())
    page.get_by_label("To", exact=True).fill(today.isoformat())
    page.get_by_role("button", name="Show the report").click()
    page.wait_for_url("**/console/reports?start=*")
    contacts = page.locator("#figure-contacts .value")
    assert contacts.inner_text() == "1"
    assert page.locator("svg.chart").count() == 3
    check_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these figures as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "metric,value" and "contacts,1" in text.splitlines()
    page.get_by_label("To", exact=True).fill((today - timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Show the report").click()
    page.locator("#end-error").wait_for()
    assert "must be after start" in page.locator("#end-error").inner_text()
    check_accessible(page)
    assert csp_violations(page) == []


def test_the_new_pages_fit_a_phone_screen(phone_page, live):
    page = phone_page
    rota = _rota(live)
    sign_in(page, live, live.people["supervisor"])
    for path in (
        "/console/oncall",
        f"/console/oncall/rotas/{rota.id}",
        f"/console/oncall/rotas/{rota.id}?view=month",
        "/console/reports",
    ):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        check_accessible(page)
