"""Retention: after a team's message_retention_days, words go and the
skeleton stays; each run audited; purge --dry-run changes nothing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.auth.models import AuditLog
from app.clients.models import ClientEvent
from app.contacts import retention
from app.contacts.models import Contact, ContactEvent
from app.messaging.models import InboxMessage, OutboundMessage
from tests.conftest import auth
from tests.factories import make_client, make_contact, make_key, make_staff, make_team

NOW = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=400)
RECENT = NOW - timedelta(days=100)
_sids = itertools.count(1)


def _contact(session, team, at, status="resolved", **fields):
    contact = make_contact(
        session,
        team,
        created_at=at,
        status=status,
        outcome="resolved_by_phone" if status == "resolved" else None,
        risk_level="moderate" if status == "resolved" else None,
        resolution_notes="talked about the pills" if status == "resolved" else None,
        events=[
            (
                "received",
                at,
                {
                    "data": {"body": "I have the pills here"},
                    "idempotency_key": f"SM{next(_sids)}",
                },
            ),
            ("notified", at, {"level": 1, "data": {"label": "assigned", "message_id": 1}}),
            (
                "resolved",
                at + timedelta(minutes=9),
                {"data": {"via": "api", "notes": "safe", "outcome": "resolved_by_phone"}},
            ),
        ],
        **fields,
    )
    session.add(
        OutboundMessage(
            team_id=team.id,
            contact_id=contact.id,
            purpose="relay",
            to_number="+12015550111",
            from_number=team.crisis_line_number,
            body="#1: I have the pills here",
            created_at=at,
            updated_at=at,
            status="delivered",
        )
    )
    session.flush()
    return contact


@pytest.fixture
def world(session):
    team = make_team(session)
    short = make_team(session, message_retention_days=30)
    person = make_client(session, team)
    old = _contact(session, team, OLD)
    recent = _contact(session, team, RECENT)
    still_open = _contact(session, team, OLD, status="open")
    short_recent = _contact(session, short, RECENT)
    session.add_all(
        [
            InboxMessage(
                message_sid="SMold",
                to_number=team.crisis_line_number,
                from_number="+12015550150",
                body="I have the pills here",
                received_at=OLD,
                processed_at=OLD,
            ),
            InboxMessage(
                message_sid="SMnew",
                to_number=team.crisis_line_number,
                from_number="+12015550150",
                body="still here",
                received_at=RECENT,
                processed_at=RECENT,
            ),
            ClientEvent(
                client_id=person.id,
                kind="er_visit",
                at=OLD,
                notes="brought by police",
                created_at=OLD,
            ),
            OutboundMessage(
                team_id=team.id,
                purpose="alert",
                to_number="+12015550112",
                from_number=team.crisis_line_number,
                body="BREAK-GLASS: Alice read client 3",
                created_at=OLD,
                updated_at=OLD,
                status="delivered",
            ),
        ]
    )
    session.commit()
    return team, short, old, recent, still_open, short_recent


def _bodies(session, contact):
    session.expire_all()
    events = session.exec(select(ContactEvent).where(ContactEvent.contact_id == contact.id)).all()
    messages = session.exec(
        select(OutboundMessage).where(OutboundMessage.contact_id == contact.id)
    ).all()
    return events, messages


def _counted(counts) -> tuple[int, int, int, int, int]:
    """What a purge erased (or would): contacts, their events, outbound
    messages, inbox messages, client events' notes."""
    return (
        counts.contacts,
        counts.events,
        counts.outbound_messages,
        counts.inbox_messages,
        counts.client_event_notes,
    )


def test_dry_run_counts_and_changes_nothing(session, world):
    team, short, old, *_ = world
    counts = retention.purge_team(session=session, team=team, now=NOW, dry_run=True)
    assert _counted(counts) == (1, 2, 2, 1, 1)
    events, messages = _bodies(session, old)
    assert events[0].data["body"] == "I have the pills here" and messages[0].body
    assert not session.exec(select(AuditLog).where(AuditLog.action == "retention.purge")).all()


def test_purge_erases_words_keeps_the_skeleton_and_audits(session, world):
    team, short, old, recent, still_open, short_recent = world
    counts = retention.purge_team(session=session, team=team, now=NOW)
    assert _counted(counts) == (1, 2, 2, 1, 1)
    events, messages = _bodies(session, old)
    assert [e.kind for e in events] == ["received", "notified", "resolved"]
    assert all("body" not in e.data and "notes" not in e.data for e in events)
    assert events[0].data == {"erased": True}
    assert events[1].data == {"label": "assigned", "message_id": 1}  # nothing to erase: untouched
    assert events[2].data["outcome"] == "resolved_by_phone" and events[2].data["erased"]
    assert [m.body for m in messages] == [""]
    contact = session.get(Contact, old.id)
    assert (contact.outcome, contact.risk_level, contact.status) == (
        "resolved_by_phone",
        "moderate",
        "resolved",
    )
    assert contact.resolution_notes is None and contact.messages_erased_at == NOW
    assert contact.created_at == OLD
    # Within retention, or still open: untouched.
    for kept in (recent, still_open, short_recent):
        events, messages = _bodies(session, kept)
        assert events[0].data["body"] == "I have the pills here" and messages[0].body
    inbox = {m.message_sid: m.body for m in session.exec(select(InboxMessage))}
    assert inbox == {"SMold": "", "SMnew": "still here"}
    assert session.exec(select(ClientEvent)).one().notes is None
    run = session.exec(select(AuditLog).where(AuditLog.action == "retention.purge")).one()
    assert run.team_id == team.id and run.detail["contacts"] == 1 and run.detail["events"] == 2
    assert run.detail["retention_days"] == 365
    # A second run finds nothing more (and says so).
    again = retention.purge_team(session=session, team=team, now=NOW)
    assert (again.contacts, again.events, again.outbound_messages) == (0, 0, 0)


def test_the_daily_job_runs_each_team_once_a_day(session, world):
    team, short, old, recent, still_open, short_recent = world
    done = retention.purge_due(session=session, now=NOW)
    assert set(done) == {team.id, short.id}
    assert done[short.id].contacts == 1  # 30 days: the 100-day-old contact goes
    assert retention.purge_due(session=session, now=NOW + timedelta(hours=5)) == {}
    assert set(retention.purge_due(session=session, now=NOW + timedelta(days=1))) == {
        team.id,
        short.id,
    }


def test_retention_setting_has_a_floor(client, session, world):
    team, *_ = world
    sup = make_key(session, "supervisor", team, make_staff(session, team, role="supervisor"))
    session.commit()
    r = client.patch(f"/v1/teams/{team.id}", json={"message_retention_days": 29}, headers=auth(sup))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "message_retention_days"
    r = client.get(f"/v1/teams/{team.id}", headers=auth(sup))
    assert r.json()["message_retention_days"] == 365
    r = client.patch(f"/v1/teams/{team.id}", json={"message_retention_days": 90}, headers=auth(sup))
    assert r.status_code == 200 and r.json()["message_retention_days"] == 90


def test_purge_command_dry_run(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import cli
    from app.db import Database

    url = f"sqlite:///{tmp_path}/purge.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("MESSAGING_TRANSPORT", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    database = Database.from_url(url)
    with database.session() as s:
        team = make_team(s)
        _contact(s, team, datetime.now(UTC) - timedelta(days=400))
    dry = runner.invoke(cli, ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would erase" in dry.output and "contacts: 1" in dry.output
    with database.session() as s:
        assert (
            s.exec(select(ContactEvent).where(ContactEvent.kind == "received")).one().data["body"]
        )
    done = runner.invoke(cli, ["purge"])
    assert done.exit_code == 0 and "erased" in done.output
    with database.session() as s:
        assert (
            "body"
            not in s.exec(select(ContactEvent).where(ContactEvent.kind == "received")).one().data
        )
        assert s.exec(select(AuditLog).where(AuditLog.action == "retention.purge")).one()
    database.engine.dispose()
