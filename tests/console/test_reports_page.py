"""The reports page: the API's figures (app.reports.service) for a date
range in the team's days, with readable labels and each figure's
definition, the three charts, and a CSV download identical to the API's."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.auth.models import AuditLog
from app.reports.service import DEFINITIONS
from tests.console.conftest import sign_in, text_in

NY = ZoneInfo("America/New_York")


def _value(html: str, key: str) -> str:
    match = re.search(rf'id="figure-{key}">\s*<dt>[^<]*</dt>\s*<dd class="value">([^<]*)<', html)
    assert match, key
    return match.group(1)


def test_the_report_shows_readable_figures_with_definitions_and_charts(
    client, db, world, session, clock
):
    text_in(client, world, world.client_phone, "I need to talk")
    sign_in(client, db, world.supervisor)
    page = client.get("/console/reports")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html = page.text
    # the default period: the 30 days up to the team's next midnight
    assert 'value="2026-10-20"' in html and 'value="2026-11-18"' in html
    assert _value(html, "contacts") == "1"
    assert _value(html, "by_channel") == "sms 1"
    assert _value(html, "after_hours_share") == "0.0 %"  # a Wednesday afternoon
    assert _value(html, "coverage_gap_hours") == "0 h"
    assert "Hours with nobody on call" in html
    assert DEFINITIONS["coverage_gap_hours"] in html and DEFINITIONS["diversion_rate"] in html
    assert html.count("<svg") == 3 and "Time to acknowledge" in html
    assert "<script" not in html.replace('<script src="/console/static/vendor/htmx.min.js"', "")
    assert 'href="/console/reports"' in html  # in the nav for a supervisor
    with db.session() as s:
        reads = s.execute(select(AuditLog).where(AuditLog.action == "report.read")).scalars()
        assert [r.detail for r in reads] == [{"format": "console"}]


def test_a_date_range_counts_only_its_days(client, db, world, session, clock):
    text_in(client, world, world.client_phone, "today")  # Wed 18 Nov
    sign_in(client, db, world.supervisor)
    before = client.get("/console/reports?start=2026-11-01&end=2026-11-17").text
    assert _value(before, "contacts") == "0" and "Sun 01 Nov 2026 to Tue 17 Nov 2026" in before
    assert 'href="/console/reports/summary.csv?start=2026-11-01&amp;end=2026-11-17"' in before
    day = client.get("/console/reports?start=2026-11-18&end=2026-11-18").text
    assert _value(day, "contacts") == "1"


def test_bad_dates_show_errors_next_to_their_fields(client, db, world, session, clock):
    sign_in(client, db, world.supervisor)
    cases = {
        "start": "start=yesterday&end=2026-11-18",
        "end": "start=2026-11-18&end=2026-11-01",
    }
    for name, query in cases.items():
        refused = client.get(f"/console/reports?{query}")
        assert refused.status_code == 422, name
        assert f'id="{name}-error"' in refused.text and 'aria-invalid="true"' in refused.text
        assert "<svg" not in refused.text
    too_long = client.get("/console/reports?start=2020-01-01&end=2026-11-18")
    assert too_long.status_code == 422 and "at most two years" in too_long.text
    assert client.get("/console/reports/summary.csv?start=someday").status_code == 422
    with db.session() as s:
        assert s.execute(select(AuditLog).where(AuditLog.action == "report.read")).first() is None


def test_the_csv_download_is_the_api_s_csv_for_the_same_days(client, db, world, session, clock):
    text_in(client, world, world.client_phone, "=HYPERLINK(1)")
    sign_in(client, db, world.supervisor)
    csv = client.get("/console/reports/summary.csv?start=2026-11-01&end=2026-11-18")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"].startswith("attachment;")
    assert csv.text.splitlines()[0] == "metric,value" and "contacts,1" in csv.text.splitlines()
    api = client.get(
        "/v1/reports/summary",
        headers={"Authorization": f"Bearer {world.supervisor_key}"},
        params={
            "team_id": world.team.id,
            "format": "csv",
            "start": datetime(2026, 11, 1, tzinfo=NY).isoformat(),
            "end": (datetime(2026, 11, 18, tzinfo=NY) + timedelta(days=1)).isoformat(),
        },
    )
    assert csv.text == api.text


def test_reports_are_for_supervisors(client, db, world, session, clock):
    sign_in(client, db, world.case_manager)
    assert client.get("/console/reports").status_code == 403
    assert client.get("/console/reports/summary.csv").status_code == 403
    assert 'href="/console/reports"' not in client.get("/console").text
