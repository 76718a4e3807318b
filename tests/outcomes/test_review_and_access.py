"""The morning review queue's order and access, and who may resolve or record
client events, over rows built directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.auth.models import AuditLog
from app.contacts.models import Contact, ContactEvent
from app.outcomes.service import due_follow_ups
from tests.conftest import auth, status_of
from tests.factories import make_client, make_contact, make_key, make_staff, make_team

NY = ZoneInfo("America/New_York")


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=NY).astimezone(UTC)


def test_review_queue_order_and_marking(client, session):
    team = make_team(session)
    other = make_team(session)
    day_moderate = make_contact(
        session, team, created_at=at("2026-06-01 11:00"), risk_level="moderate", status="resolved"
    )
    night_low = make_contact(
        session, team, created_at=at("2026-06-02 03:00"), risk_level="low", status="resolved"
    )
    day_unanswered = make_contact(
        session, team, created_at=at("2026-06-02 10:00"), status="unanswered"
    )
    night_high = make_contact(
        session, team, created_at=at("2026-06-01 23:00"), risk_level="high", status="resolved"
    )
    make_contact(
        session,
        team,
        created_at=at("2026-06-02 04:00"),
        status="unanswered",
        reviewed_at=at("2026-06-02 08:00"),
        reviewed_by="key:1",
    )
    foreign = make_contact(session, other, created_at=at("2026-06-02 02:00"), status="unanswered")
    supervisor = make_key(session, "supervisor", team)
    cm = make_key(session, "case_manager", team, make_staff(session, team))
    session.commit()

    url = f"/v1/teams/{team.id}/review-queue"
    queue = client.get(url, headers=auth(supervisor)).json()
    # Unanswered and high-risk on top (overnight first among them), then overnight, then the rest.
    assert [item["id"] for item in queue] == [
        night_high.id,
        day_unanswered.id,
        night_low.id,
        day_moderate.id,
    ]
    assert [item["overnight"] for item in queue] == [True, False, True, False]

    r = client.post(
        f"/v1/contacts/{night_high.id}/review",
        json={"note": "called back 08:10"},
        headers=auth(supervisor),
    )
    assert r.status_code == 200, r.text
    session.expire_all()
    row = session.get(Contact, night_high.id)
    assert row.review_note == "called back 08:10" and row.reviewed_at is not None
    assert (
        session.execute(
            select(AuditLog).where(
                AuditLog.action == "contact.review", AuditLog.record_id == night_high.id
            )
        ).first()
        is not None
    )
    assert night_high.id not in [i["id"] for i in client.get(url, headers=auth(supervisor)).json()]

    assert client.get(url, headers=auth(cm)).status_code == 403
    assert (
        client.post(f"/v1/contacts/{day_moderate.id}/review", json={}, headers=auth(cm)).status_code
        == 403
    )
    assert status_of(client.post, f"/v1/contacts/{foreign.id}/review", {}, supervisor) == 404
    assert client.get(
        f"/v1/teams/{other.id}/review-queue", headers=auth(supervisor)
    ).status_code in (403, 404)


def test_resolve_twice_records_an_update_and_case_managers_may_resolve(client, session):
    team = make_team(session)
    cm_staff = make_staff(session, team)
    contact = make_contact(
        session,
        team,
        created_at=at("2026-06-01 11:00"),
        status="acknowledged",
        acknowledged_by=cm_staff.id,
        acknowledged_at=at("2026-06-01 11:02"),
    )
    cm = make_key(session, "case_manager", team, cm_staff)
    session.commit()
    url = f"/v1/contacts/{contact.id}/resolve"
    r = client.post(
        url,
        headers=auth(cm),
        json={
            "outcome": "mobile_crisis_dispatched",
            "risk_level": "high",
            "emergency_dispatched": True,
            "emergency_confirmed": True,
            "referrals": ["mobile crisis"],
            "caller_type": "family",
        },
    )
    assert r.status_code == 200, r.text
    r = client.post(
        url, headers=auth(cm), json={"outcome": "in_person_visit", "risk_level": "moderate"}
    )
    assert r.status_code == 200, r.text
    session.expire_all()
    row = session.get(Contact, contact.id)
    assert (row.status, row.outcome, row.risk_level) == ("resolved", "in_person_visit", "moderate")
    kinds = list(
        session.execute(
            select(ContactEvent.kind)
            .where(ContactEvent.contact_id == contact.id)
            .order_by(ContactEvent.id)
        ).scalars()
    )
    assert kinds.count("resolved") == 1 and kinds.count("resolution_updated") == 1

    r = client.post(
        url,
        headers=auth(cm),
        json={"outcome": "police_ems", "risk_level": "high", "emergency_confirmed": True},
    )
    assert r.status_code == 422 and "emergency_confirmed" in r.text
    r = client.post(
        url,
        headers=auth(cm),
        json={
            "outcome": "non_crisis",
            "risk_level": "low",
            "follow_up_due_at": "2099-01-01T09:00:00",
        },
    )
    assert r.status_code == 422 and "follow_up_due_at" in r.text


def test_client_events_access_and_audit(client, session):
    team = make_team(session)
    other = make_team(session)
    cm_staff = make_staff(session, team)
    person = make_client(session, team, assigned_case_manager_id=cm_staff.id)
    cm = make_key(session, "case_manager", team, cm_staff)
    not_theirs = make_key(session, "case_manager", team, make_staff(session, team))
    foreign = make_key(session, "supervisor", other)
    session.commit()
    url = f"/v1/clients/{person.id}/events"
    # Another case manager of the team: not their client (app.auth.access).
    assert client.get(url, headers=auth(not_theirs)).status_code == 404
    r = client.post(
        url,
        headers=auth(cm),
        json={"kind": "jail_booking", "at": "2026-06-01T12:00:00+00:00", "notes": "county"},
    )
    assert r.status_code == 201, r.text
    assert (
        session.execute(select(AuditLog).where(AuditLog.action == "client_event.create")).first()
        is not None
    )
    assert (
        client.post(
            url, headers=auth(foreign), json={"kind": "er_visit", "at": "2026-06-01T12:00:00+00:00"}
        ).status_code
        == 404
    )
    assert client.get(url, headers=auth(foreign)).status_code == 404
    r = client.post(url, headers=auth(cm), json={"kind": "er_visit", "at": "2026-06-01T12:00:00"})
    assert r.status_code == 422 and "at" in r.text
    assert [e["kind"] for e in client.get(url, headers=auth(cm)).json()["events"]] == [
        "jail_booking"
    ]


def test_due_follow_ups_decider():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    due = Contact(
        team_id=1,
        channel="sms",
        from_number="+12015550150",
        follow_up_due_at=now - timedelta(minutes=1),
    )
    later = Contact(
        team_id=1,
        channel="sms",
        from_number="+12015550151",
        follow_up_due_at=now + timedelta(minutes=1),
    )
    sent = Contact(
        team_id=1,
        channel="sms",
        from_number="+12015550152",
        follow_up_due_at=now - timedelta(hours=1),
        follow_up_sent_at=now - timedelta(minutes=5),
    )
    none = Contact(team_id=1, channel="sms", from_number="+12015550153")
    assert due_follow_ups([due, later, sent, none], now) == [due]


def test_due_follow_up_returns_a_reviewed_contact_to_the_queue(client, app, session):
    team = make_team(session)
    now = app.state.runtime.now()

    def reviewed_with_follow_up(due_at):
        return make_contact(
            session,
            team,
            created_at=now - timedelta(days=2),
            status="resolved",
            risk_level="low",
            reviewed_at=now - timedelta(days=1),
            reviewed_by="key:1",
            follow_up_due_at=due_at,
        )

    reviewed = reviewed_with_follow_up(now - timedelta(hours=1))
    not_yet = reviewed_with_follow_up(now + timedelta(hours=1))
    supervisor = make_key(session, "supervisor", team)
    session.commit()
    url = f"/v1/teams/{team.id}/review-queue"
    queue = client.get(url, headers=auth(supervisor)).json()
    assert [(i["id"], i["follow_up_due"]) for i in queue] == [(reviewed.id, True)]
    assert not_yet.id not in [i["id"] for i in queue]
    assert (
        status_of(
            client.post, f"/v1/contacts/{reviewed.id}/review", {"note": "checked in"}, supervisor
        )
        == 200
    )
    assert client.get(url, headers=auth(supervisor)).json() == []


def test_follow_up_job_texts_the_responsible_person_once(session):
    from app.messaging.models import OutboundMessage
    from app.outcomes.service import send_due_follow_ups

    team = make_team(session)
    assigned, acker = make_staff(session, team), make_staff(session, team)
    person = make_client(session, team, assigned_case_manager_id=assigned.id)
    now = datetime(2026, 6, 2, 12, tzinfo=UTC)
    base = dict(
        created_at=now - timedelta(days=1),
        status="resolved",
        follow_up_due_at=now - timedelta(minutes=5),
    )
    to_assigned = make_contact(session, team, client_id=person.id, acknowledged_by=acker.id, **base)
    to_acker = make_contact(session, team, acknowledged_by=acker.id, **base)
    nobody = make_contact(session, team, **base)
    make_contact(
        session,
        team,
        acknowledged_by=acker.id,
        **{**base, "follow_up_due_at": now + timedelta(hours=1)},
    )

    assert send_due_follow_ups(session=session, now=now) == 2
    assert send_due_follow_ups(session=session, now=now + timedelta(minutes=1)) == 0
    sent = {
        (m.contact_id, m.to_number)
        for m in session.execute(
            select(OutboundMessage).where(OutboundMessage.purpose == "follow_up")
        ).scalars()
    }
    assert sent == {(to_assigned.id, assigned.phone), (to_acker.id, acker.phone)}
    kinds = set(
        session.execute(
            select(ContactEvent.kind).where(ContactEvent.contact_id == nobody.id)
        ).scalars()
    )
    assert kinds == {"follow_up_unassigned"}
    session.expire_all()
    assert session.get(Contact, nobody.id).follow_up_sent_at == now
