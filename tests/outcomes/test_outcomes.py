"""Resolving contacts, client events and stays, follow-ups, the review queue
and the summary report, over contacts made by the real SMS path."""

from __future__ import annotations

import csv
import io
import statistics
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.contacts.models import Contact, ContactEvent
from app.messaging.models import OutboundMessage
from app.outcomes.service import pair_stays, send_due_follow_ups
from tests.conftest import auth, status_of
from tests.factories import make_key
from tests.world import text_in, tick

UTC = UTC


def newest(session) -> Contact:
    session.expire_all()
    return session.execute(select(Contact).order_by(Contact.id.desc())).scalars().first()


def test_resolve_with_outcome_after_sms_done(client, app, world, session, twilio, clock):
    text_in(client, world, world.client_phone, "help")
    text_in(client, world, world.case_manager.phone, "DONE")
    contact = newest(session)
    assert contact.status == "resolved" and contact.outcome is None
    cm_key = make_key(session, "case_manager", world.team, world.case_manager)
    session.commit()
    due = (clock.now + timedelta(days=1)).isoformat()
    r = client.post(
        f"/v1/contacts/{contact.id}/resolve",
        headers=auth(cm_key),
        json={
            "outcome": "safety_plan_used",
            "risk_level": "moderate",
            "caller_type": "self",
            "referrals": ["peer support"],
            "notes": "used coping list",
            "follow_up_due_at": due,
        },
    )
    assert r.status_code == 200, r.text
    contact = newest(session)
    assert (contact.outcome, contact.risk_level, contact.caller_type) == (
        "safety_plan_used",
        "moderate",
        "self",
    )
    kinds = [
        e.kind
        for e in session.execute(
            select(ContactEvent).where(ContactEvent.contact_id == contact.id)
        ).scalars()
    ]
    assert "resolved" in kinds and "resolution_updated" in kinds
    # Follow-up: nothing before it is due, one text to the case manager once it is.
    assert send_due_follow_ups(session=session, now=clock.now) == 0
    assert send_due_follow_ups(session=session, now=clock.now + timedelta(days=1, minutes=1)) == 1
    assert send_due_follow_ups(session=session, now=clock.now + timedelta(days=2)) == 0
    follow = session.execute(
        select(OutboundMessage).where(OutboundMessage.purpose == "follow_up")
    ).scalar_one()
    assert follow.to_number == world.case_manager.phone


def test_resolve_validation(client, world, session):
    text_in(client, world, world.client_phone, "help")
    contact = newest(session)
    url = f"/v1/contacts/{contact.id}/resolve"
    bad = [
        {"outcome": "felt_better", "risk_level": "low"},
        {"outcome": "non_crisis", "risk_level": "sky-high"},
        {"outcome": "police_ems", "risk_level": "high", "emergency_confirmed": True},
        {
            "outcome": "non_crisis",
            "risk_level": "low",
            "follow_up_due_at": "2020-01-01T00:00:00+00:00",
        },
    ]
    for body in bad:
        r = client.post(url, json=body, headers=auth(world.supervisor_key))
        assert r.status_code == 422, (body, r.text)
    assert newest(session).status == "open"
    other = make_key(session, "supervisor", world.other_team)
    session.commit()
    assert status_of(client.post, url, {"outcome": "non_crisis", "risk_level": "low"}, other) == 404


def test_client_events_pair_into_stays(client, world, session):
    url = f"/v1/clients/{world.client_row.id}/events"
    key = auth(world.supervisor_key)

    def event(kind: str, day: str) -> int:
        at = f"{day}T12:00:00+00:00"
        return client.post(url, headers=key, json={"kind": kind, "at": at}).status_code

    # In this order: a discharge needs an admission before it, an admission
    # needs the stay before it discharged.
    for kind, day, status in [
        ("hospital_discharge", "2026-10-01", 409),
        ("hospital_admission", "2026-10-01", 201),
        ("hospital_admission", "2026-10-03", 409),
        ("hospital_discharge", "2026-10-05", 201),
        ("hospital_admission", "2026-11-01", 201),
    ]:
        assert event(kind, day) == status, (kind, day)
    body = client.get(url, headers=key).json()
    assert [
        (s["admitted_at"][:10], s["discharged_at"] and s["discharged_at"][:10])
        for s in body["stays"]
    ] == [("2026-10-01", "2026-10-05"), ("2026-11-01", None)]
    assert event("alien_abduction", "2026-10-01") == 422


def test_pair_stays_is_order_independent():
    a, b = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 4, tzinfo=UTC)
    assert pair_stays([("hospital_discharge", b), ("hospital_admission", a)])[0].discharged_at == b


def test_review_queue_puts_unanswered_first_and_review_removes(
    client, app, world, session, twilio, clock
):
    text_in(client, world, world.client_phone, "first")  # will go unanswered
    first = newest(session)
    for _ in range(5):
        clock.advance(seconds=301)
        tick(app)
    text_in(client, world, "+12015550163", "second")  # stays open, normal
    second = newest(session)
    queue = client.get(
        f"/v1/teams/{world.team.id}/review-queue", headers=auth(world.supervisor_key)
    ).json()
    assert [item["id"] for item in queue] == [first.id, second.id]
    assert queue[0]["status"] == "unanswered"
    r = client.post(
        f"/v1/contacts/{first.id}/review",
        json={"note": "called back at 08:10"},
        headers=auth(world.supervisor_key),
    )
    assert r.status_code == 200
    queue = client.get(
        f"/v1/teams/{world.team.id}/review-queue", headers=auth(world.supervisor_key)
    ).json()
    assert [item["id"] for item in queue] == [second.id]
    cm_key = make_key(session, "case_manager", world.team, world.case_manager)
    session.commit()
    assert (
        client.get(f"/v1/teams/{world.team.id}/review-queue", headers=auth(cm_key)).status_code
        == 403
    )


def test_summary_report_figures(client, app, world, session, twilio, clock):
    start = clock.now - timedelta(hours=1)
    # Contact A: acknowledged by the case manager after 120 s, at level 1.
    text_in(client, world, world.client_phone, "a")
    clock.advance(seconds=120)
    text_in(client, world, world.case_manager.phone, "I'm here")
    a = newest(session)
    # Contact B: nobody answers, reaches the fallback.
    text_in(client, world, "+12015550164", "b")
    for _ in range(5):
        clock.advance(seconds=301)
        tick(app)
    # Contact C: the same number as A again, within 7 days; acknowledged by PASS chain at level 2 after 30 s.
    text_in(client, world, world.case_manager.phone, f"#{a.id} DONE")
    text_in(client, world, world.client_phone, "c")
    clock.advance(seconds=30)
    text_in(client, world, world.case_manager.phone, "PASS")
    text_in(client, world, world.backup_cm.phone, "ACK")
    client.post(
        f"/v1/contacts/{a.id}/resolve",
        headers=auth(world.supervisor_key),
        json={"outcome": "er_visit", "risk_level": "high", "caller_type": "self"},
    )
    end = clock.now + timedelta(hours=1)
    client.post(
        f"/v1/clients/{world.client_row.id}/events",
        headers=auth(world.supervisor_key),
        json={"kind": "er_visit", "at": clock.now.isoformat()},
    )

    r = client.get(
        "/v1/reports/summary",
        headers=auth(world.supervisor_key),
        params={"team_id": world.team.id, "start": start.isoformat(), "end": end.isoformat()},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["contacts"] == 3
    assert report["by_channel"] == {"sms": 3}
    assert report["reached_fallback"] == 1 and report["unanswered"] == 1
    assert report["repeat_within_7_days"] == 1
    assert report["acknowledge_seconds"]["median"] == statistics.median([120.0, 30.0])
    assert report["acknowledged_at_level_1_share"] == 0.5
    assert report["diversion_rate"] == 0.0
    assert report["er_visits"] == 1
    assert report["coverage_gap_hours"] == 0.0
    csv_text = client.get(
        "/v1/reports/summary",
        headers=auth(world.supervisor_key),
        params={
            "team_id": world.team.id,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "format": "csv",
        },
    ).text
    rows = dict(csv.reader(io.StringIO(csv_text)))
    assert rows["contacts"] == "3" and rows["by_channel.sms"] == "3"
    cm_key = make_key(session, "case_manager", world.team, world.case_manager)
    session.commit()
    assert (
        client.get(
            "/v1/reports/summary", params={"team_id": world.team.id}, headers=auth(cm_key)
        ).status_code
        == 403
    )
    assert (
        client.get(
            "/v1/reports/summary",
            params={"team_id": world.team.id, "start": "2026-01-01T00:00:00"},
            headers=auth(world.supervisor_key),
        ).status_code
        == 422
    )


def test_repeat_counts_the_same_client_from_another_number(
    client, app, world, session, twilio, clock
):
    text_in(client, world, world.client_phone, "me")
    text_in(client, world, world.case_manager.phone, "DONE")
    clock.advance(days=2)
    text_in(client, world, world.family_phone, "his mother here")  # same client, another number
    clock.advance(days=6)
    text_in(client, world, "+12015550166", "stranger")  # unrelated
    session.expire_all()
    flags = [
        c.repeat_within_7d for c in session.execute(select(Contact).order_by(Contact.id)).scalars()
    ]
    assert flags == [False, True, False]
