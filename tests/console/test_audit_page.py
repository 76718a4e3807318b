"""The audit page: the team's audit log newest first, a page at a time, for
supervisors and admins only (as GET /v1/audit)."""

from __future__ import annotations

import re
from datetime import timedelta

from app.auth.models import AuditLog
from app.console.audit_page import PAGE_SIZE
from tests.console.conftest import sign_in

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def _entries(session, world, clock) -> None:
    # The clock's now is later than every row, so sign-in's own rows come first.
    start = clock.now - timedelta(days=10)
    for n in range(PAGE_SIZE + 5):
        session.add(
            AuditLog(
                at=start + timedelta(minutes=n),
                actor=f"key:{n}",
                actor_role="supervisor",
                team_id=world.team.id,
                action=f"probe.{n}",
                record_type="contact",
                record_id=n,
            )
        )
    session.add(
        AuditLog(
            at=start,
            actor="key:999",
            team_id=world.other_team.id,
            action="probe.other_team",
            record_type="contact",
        )
    )
    session.commit()


def _probes(html: str) -> list[str]:
    return re.findall(r"probe\.(\w+)", html)


def test_a_supervisor_pages_through_their_team_audit_newest_first(
    client, db, world, session, clock
):
    _entries(session, world, clock)
    sign_in(client, db, world.supervisor)
    first = client.get("/console/audit")
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert 'href="/console/audit"' in first.text  # in the nav
    shown = _probes(first.text)
    assert shown == [str(n) for n in range(PAGE_SIZE + 4, PAGE_SIZE + 4 - len(shown), -1)]
    assert 'href="/console/audit?page=2"' in first.text
    second = client.get("/console/audit?page=2")
    rest = _probes(second.text)
    assert [int(n) for n in shown + rest] == list(range(PAGE_SIZE + 4, -1, -1))
    assert "other_team" not in first.text + second.text
    assert 'href="/console/audit?page=1"' in second.text
    assert "page=3" not in second.text
    assert client.get("/console/audit?page=0").status_code == 422


def test_case_managers_get_no_audit_page(client, db, world, session, clock):
    _entries(session, world, clock)
    sign_in(client, db, world.case_manager)
    page = client.get("/console/audit")
    assert page.status_code == 403
    assert "probe." not in page.text
    assert 'href="/console/audit"' not in client.get("/console").text


def test_audit_text_is_escaped(client, db, world, session, clock):
    session.add(
        AuditLog(
            at=clock.now - timedelta(minutes=1),
            actor=SCRIPT,
            team_id=world.team.id,
            action=SCRIPT,
            record_type=SCRIPT,
        )
    )
    session.commit()
    sign_in(client, db, world.supervisor)
    page = client.get("/console/audit")
    assert "<script>alert" not in page.text and ESCAPED in page.text
