"""Browser-test plumbing: the app served by uvicorn on a free loopback port
(in a thread, against a migrated SQLite file, worker jobs in process), and
Playwright driving Debian's chromium headless.

Fixtures (import them in a test module or conftest):
- `live`: a `LiveServer` with `.url`, `.db`, `.app`, `.team`, `.people`,
  `.client_row`, `.post_sms(from_, body)` (a signed Twilio webhook).
- `browser`: a Playwright browser (one per test module), skipped when there is no chromium.
- `page`: a fresh context and page on `live` (phone-size with `phone_page`).
Helpers: `sign_in(page, live, staff)`, `check_accessible(page)`,
`csp_violations(page)` (collected console errors).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from app import migrations
from app.db import make_engine
from app.messaging.models import OutboundMessage
from tests.conftest import TWILIO_SID, make_settings
from tests.factories import make_client, make_staff, make_team, one_layer_rota
from tests.twilio_signing import signature

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), *CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class LiveServer:
    url: str
    app: object
    db: object
    team: object
    people: dict = field(default_factory=dict)
    client_row: object = None
    client_phone: str = "+12015550150"
    _sids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def post_sms(self, from_: str, body: str) -> httpx.Response:
        params = {
            "MessageSid": f"SMlive{next(self._sids):026d}",
            "AccountSid": TWILIO_SID,
            "From": from_,
            "To": self.team.crisis_line_number,
            "Body": body,
            "NumMedia": "0",
        }
        headers = {"X-Twilio-Signature": signature("/twilio/sms", params, base_url=self.url)}
        return httpx.post(self.url + "/twilio/sms", data=params, headers=headers, timeout=10)

    def outbox(self, **where) -> list[OutboundMessage]:
        with self.db.session() as s:
            query = select(OutboundMessage).order_by(OutboundMessage.id)
            for name, value in where.items():
                query = query.where(getattr(OutboundMessage, name) == value)
            rows = list(s.execute(query).scalars())
            s.expunge_all()
        return rows

    def code_for(self, phone: str) -> str:
        rows = self.outbox(to_number=phone, purpose="sign_in_code")
        assert rows, "no sign-in code was queued"
        return re.search(r"\b(\d{6})\b", rows[-1].body).group(1)


def _seed(db) -> dict:
    with db.session() as s:
        team = make_team(
            s, name="North ICM", crisis_line_number="+19735550100", ack_timeout_seconds=300
        )
        supervisor = make_staff(s, team, name="Sue Visor", phone="+12015550180", role="supervisor")
        case_manager = make_staff(s, team, name="Casey Manager", phone="+12015550181")
        oncall = make_staff(s, team, name="Owen Call", phone="+12015550183")
        client_row = make_client(
            s,
            team,
            preferred_name="Sam",
            assigned_case_manager_id=case_manager.id,
            phones=[("+12015550150", "self")],
        )
        s.add(one_layer_rota(team.id, [oncall.id]))
        s.commit()
        for row in (team, supervisor, case_manager, oncall, client_row):
            s.refresh(row)
        s.expunge_all()
    return {
        "team": team,
        "people": {"supervisor": supervisor, "case_manager": case_manager, "oncall": oncall},
        "client_row": client_row,
    }


@pytest.fixture
def live(tmp_path):
    if chromium_path() is None:
        pytest.skip("no chromium (Debian package `chromium`): browser tests skipped")
    from app.main import create_app

    url = f"sqlite:///{tmp_path}/console.db"
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(
        url,
        public_base_url=base,
        messaging_transport="outbox",  # nothing leaves the machine; the outbox records it
        run_worker=True,
        inbox_poll_seconds=0.1,
    )
    app = create_app(settings, run_worker=True, configure_logs=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the console server did not start")
        time.sleep(0.02)
    seeded = _seed(app.state.db)
    try:
        yield LiveServer(url=base, app=app, db=app.state.db, **seeded)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


# Module-wide, not session-wide: Playwright's sync API keeps an asyncio loop
# running in the main thread while it is started, and later suites call
# asyncio.run(), which refuses to start inside a running loop.
@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium (Debian package `chromium`): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True)
        yield browser
        browser.close()


def _page(browser, live, **context_options):
    context = browser.new_context(base_url=live.url, **context_options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.console_messages = []  # type: ignore[attr-defined]
    page.on("console", lambda m: page.console_messages.append(m.text))  # type: ignore[attr-defined]
    return context, page


@pytest.fixture
def page(browser, live):
    context, page = _page(browser, live, viewport={"width": 1280, "height": 800})
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live):
    context, page = _page(
        browser,
        live,
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    yield page
    context.close()


def sign_in(page, live: LiveServer, staff) -> None:
    """The whole sign-in by keyboard: number, Enter, the texted code, Enter."""
    page.goto("/console")
    page.wait_for_url("**/console/login")
    page.get_by_label("Your mobile number").fill(staff.phone)
    page.keyboard.press("Enter")
    code_field = page.get_by_label("Code from the text message")
    code_field.wait_for()
    code_field.fill(live.code_for(staff.phone))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/console$"))


def check_accessible(page) -> None:
    """axe-core in the page: no serious or critical violations. It is
    evaluated through the DevTools protocol, which the page's CSP (no inline
    or injected scripts) does not govern."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    violations = page.evaluate(
        """async () => {
            const result = await window.axe.run(document, {resultTypes: ['violations']});
            return result.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    assert violations == [], f"accessibility violations on {page.url}: {violations}"


def csp_violations(page) -> list[str]:
    return [m for m in page.console_messages if "Content Security Policy" in m or "Refused to" in m]
