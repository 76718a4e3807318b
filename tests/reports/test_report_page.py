"""The HTML report renders its charts in a real browser (Debian's chromium,
headless), checked on the screenshot's pixels."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import auth
from tests.world import text_in, tick

BLUE = (0x2B, 0x6C, 0xB0)  # the first series colour in app/reports/charts.py


def _page(client, app, world, clock) -> str:
    start = clock.now - timedelta(days=1)
    text_in(client, world, world.client_phone, "a")
    clock.advance(seconds=90)
    text_in(client, world, world.case_manager.phone, "here")
    text_in(client, world, "+12015550165", "b")
    for _ in range(5):
        clock.advance(seconds=301)
        tick(app)
    r = client.get(
        "/v1/reports/summary.html",
        headers=auth(world.supervisor_key),
        params={
            "team_id": world.team.id,
            "start": start.isoformat(),
            "end": (clock.now + timedelta(days=1)).isoformat(),
        },
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    return r.text


def _chromium_and_pillow():
    """Debian's chromium and Pillow's Image module, or the test is skipped."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip(
            "chromium is not installed (Debian package `chromium`): browser rendering not checked"
        )
    return browser, pytest.importorskip("PIL.Image")


def _screenshot(browser: str, page: Path, shot: Path, tmp_path: Path) -> None:
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1100,1400",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )


def test_report_page_has_three_charts_and_the_figures(client, app, world, clock):
    html = _page(client, app, world, clock)
    assert html.count("<svg") == 3
    for title in (
        "Contacts per week by outcome",
        "Time to acknowledge",
        "Hospital days per client-month",
    ):
        assert title in html
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "<th>unanswered</th><td>1</td>" in html


def test_charts_render_in_headless_chromium(client, app, world, clock, tmp_path):
    browser, Image = _chromium_and_pillow()
    page = tmp_path / "report.html"
    page.write_text(_page(client, app, world, clock))
    shot = tmp_path / "report.png"
    _screenshot(browser, page, shot, tmp_path)
    image = Image.open(shot).convert("RGB")
    pixels = image.getdata()
    blue = sum(1 for p in pixels if all(abs(a - b) < 12 for a, b in zip(p, BLUE)))
    non_white = sum(1 for p in pixels if p != (255, 255, 255))
    assert blue > 200, "the chart bars did not render"
    assert non_white > 0.01 * image.width * image.height


def test_month_of_varied_contacts_renders_every_series(client, session, tmp_path):
    """A month with nine outcomes and hospital stays: stacked bars in several
    colours, and the hospital-days chart is not empty."""
    browser, Image = _chromium_and_pillow()
    from app.clients.models import ClientEvent
    from app.reports.charts import PALETTE
    from tests.factories import make_client, make_key
    from tests.reports.test_summary_figures import END, START, STAYS, build, utc

    team, _ = build(session)
    for events in STAYS.values():
        person = make_client(session, team)
        for kind, when in events:
            session.add(ClientEvent(client_id=person.id, kind=kind, at=utc(when)))
    key = make_key(session, "supervisor", team)
    session.commit()
    r = client.get(
        "/v1/reports/summary.html",
        headers=auth(key),
        params={"team_id": team.id, "start": START.isoformat(), "end": END.isoformat()},
    )
    assert r.status_code == 200, r.text
    page, shot = tmp_path / "month.html", tmp_path / "month.png"
    page.write_text(r.text)
    _screenshot(browser, page, shot, tmp_path)
    image = Image.open(shot).convert("RGB")
    counts: dict[tuple, int] = {}
    for pixel in image.getdata():
        counts[pixel] = counts.get(pixel, 0) + 1

    def seen(hex_colour: str) -> int:
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return sum(n for p, n in counts.items() if all(abs(a - b) < 12 for a, b in zip(p, rgb)))

    # nine outcome series (eight outcomes and "open/unrecorded") each drawn in its own colour
    drawn = [colour for colour in PALETTE[:9] if seen(colour) > 40]
    assert len(drawn) == 9, drawn
    # the hospital-days chart: its single series bar is in the first colour, in the lower third of the charts
    lower = image.crop((0, image.height // 4, image.width // 2, image.height // 2))
    first = tuple(int(PALETTE[0][i : i + 2], 16) for i in (1, 3, 5))
    assert sum(1 for p in lower.getdata() if all(abs(a - b) < 12 for a, b in zip(p, first))) > 200
