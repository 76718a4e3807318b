"""Two instances firing due notification rules on one PostgreSQL database:
every call rule fires exactly once (FOR UPDATE SKIP LOCKED), with real commits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.db import Database
from app.escalation.due_rules import fire_due
from app.escalation.models import PageStep
from app.messaging.models import OutboundMessage
from tests.conftest import make_settings
from tests.escalation.test_engine_concurrency import (
    assert_once_per_contact,
    shared_by_two,
    team_with_case_manager,
    texts_in,
)
from tests.factories import make_client

CONTACTS = 80


def test_two_instances_fire_each_call_rule_once(committed_pg):
    settings, seed_db = make_settings(committed_pg), Database.from_url(committed_pg)
    now = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
    with seed_db.session() as s:
        team, cm = team_with_case_manager(s)
        for i in range(CONTACTS):
            make_client(
                s,
                team,
                preferred_name=f"C{i}",
                assigned_case_manager_id=cm.id,
                phones=[(f"+1201555{1000 + i:04d}", "self")],
            )
        texts_in(s, team=team, now=now, settings=settings, count=CONTACTS)
    due = now + timedelta(seconds=60)
    shared_by_two(
        committed_pg, fire_due, due=due, settings=settings, expected=CONTACTS, who="instances"
    )
    with seed_db.session() as s:
        assert_once_per_contact(
            s,
            OutboundMessage.contact_id,
            OutboundMessage.purpose == "page_call",
            contacts=CONTACTS,
        )
        assert (
            s.execute(
                select(func.count()).select_from(PageStep).where(PageStep.status == "pending")
            ).scalar_one()
            == 0
        )
    seed_db.engine.dispose()
