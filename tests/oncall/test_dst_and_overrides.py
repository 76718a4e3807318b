"""Who is on call across the New York DST weekends, asked through the API,
and how overrides (recent, old, far ahead) change the answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.auth.models import AuditLog
from tests.conftest import auth
from tests.oncall.conftest import NOW, weekly

UTC = UTC


def create(client, team, body, **params):
    r = client.post(
        f"/v1/teams/{team.team.id}/rotas",
        json=body,
        params=params,
        headers=auth(team.supervisor_key),
    )
    assert r.status_code == 201, r.text
    return r.json()


def daily(team, start: str) -> dict:
    body = weekly(team, name="Daily")
    body["layers"][0].update(name="daily", turn={"unit": "days", "length": 1}, start=start)
    return body


def oncall(client, team, rota_id, at: datetime) -> dict:
    r = client.get(
        f"/v1/rotas/{rota_id}/oncall",
        params={"at": at.isoformat()},
        headers=auth(team.case_manager_key),
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_fall_back_weekend_turn_lasts_25_hours(client, team):
    # Handoffs at 09:00 New York; DST ends 2026-11-01 02:00 EDT -> 01:00 EST.
    rota = create(client, team, daily(team, "2026-10-01T09:00"))
    saturday = oncall(client, team, rota["id"], datetime(2026, 10, 31, 14, tzinfo=UTC))  # 10:00 EDT
    sunday = oncall(
        client, team, rota["id"], datetime(2026, 11, 1, 13, 30, tzinfo=UTC)
    )  # 08:30 EST
    # Day 30 after the anchor (even) is Alice's; it runs 09:00 EDT Sat -> 09:00 EST Sun.
    assert saturday["staff"]["id"] == sunday["staff"]["id"] == team.a.id
    assert saturday["source"] == "layer:daily"
    assert datetime.fromisoformat(saturday["until"]) == datetime(2026, 11, 1, 14, tzinfo=UTC)
    assert datetime.fromisoformat(saturday["until"]) - datetime(
        2026, 10, 31, 13, tzinfo=UTC
    ) == timedelta(hours=25)
    # 13:59:59 UTC is still Alice; at 14:00 UTC (09:00 EST) Bob takes over.
    assert (
        oncall(client, team, rota["id"], datetime(2026, 11, 1, 13, 59, 59, tzinfo=UTC))["staff"][
            "id"
        ]
        == team.a.id
    )
    monday = oncall(client, team, rota["id"], datetime(2026, 11, 1, 14, tzinfo=UTC))
    assert monday["staff"]["id"] == team.b.id
    assert datetime.fromisoformat(monday["until"]) == datetime(2026, 11, 2, 14, tzinfo=UTC)


def test_spring_forward_handoff_in_the_missing_hour(client, team):
    # 02:30 does not exist on 2026-03-08 in New York: the handoff happens at the
    # first instant after the gap, 03:00 EDT = 07:00 UTC; the day before it was 07:30 UTC.
    rota = create(client, team, daily(team, "2026-03-01T02:30"))
    before = oncall(client, team, rota["id"], datetime(2026, 3, 8, 6, 59, tzinfo=UTC))
    assert before["staff"]["id"] == team.a.id  # turn 6 (from 7 March 02:30 EST): even, Alice
    assert datetime.fromisoformat(before["until"]) == datetime(2026, 3, 8, 7, tzinfo=UTC)
    after = oncall(client, team, rota["id"], datetime(2026, 3, 8, 7, tzinfo=UTC))
    assert after["staff"]["id"] == team.b.id
    assert datetime.fromisoformat(after["until"]) == datetime(
        2026, 3, 9, 6, 30, tzinfo=UTC
    )  # 02:30 EDT
    # The team view agrees.
    team_view = client.get(
        f"/v1/teams/{team.team.id}/oncall",
        params={"at": "2026-03-08T07:00:00+00:00"},
        headers=auth(team.case_manager_key),
    ).json()
    assert [(t["rota_id"], t["staff"]["id"]) for t in team_view] == [(rota["id"], team.b.id)]


def test_override_created_via_api_changes_who_is_on_call_and_is_audited(client, team, session):
    rota = create(client, team, weekly(team))
    before = oncall(client, team, rota["id"], NOW)
    cover = team.a.id if before["staff"]["id"] == team.b.id else team.b.id
    start, end = NOW + timedelta(hours=2), NOW + timedelta(hours=5)
    r = client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={
            "staff_id": cover,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "reason": "sick",
        },
    )
    assert r.status_code == 201, r.text
    override = r.json()
    # Before it starts, the layer person's turn now ends when the override begins.
    assert datetime.fromisoformat(oncall(client, team, rota["id"], NOW)["until"]) == start
    during = oncall(client, team, rota["id"], start + timedelta(minutes=1))
    assert (during["staff"]["id"], during["source"], datetime.fromisoformat(during["until"])) == (
        cover,
        "override",
        end,
    )
    after = oncall(client, team, rota["id"], end)
    assert after["staff"]["id"] == before["staff"]["id"] and after["source"] == "layer:weekly"
    listed = client.get(
        f"/v1/rotas/{rota['id']}/overrides", headers=auth(team.case_manager_key)
    ).json()
    assert [o["id"] for o in listed] == [override["id"]] and listed[0]["reason"] == "sick"
    # Listing a window that ends before the override finds nothing.
    assert (
        client.get(
            f"/v1/rotas/{rota['id']}/overrides",
            headers=auth(team.case_manager_key),
            params={"start": (NOW - timedelta(days=3)).isoformat(), "end": start.isoformat()},
        ).json()
        == []
    )
    assert (
        client.delete(
            f"/v1/rotas/{rota['id']}/overrides/{override['id']}", headers=auth(team.supervisor_key)
        ).status_code
        == 204
    )
    assert (
        oncall(client, team, rota["id"], start + timedelta(minutes=1))["source"] == "layer:weekly"
    )
    assert (
        client.delete(
            f"/v1/rotas/{rota['id']}/overrides/{override['id']}", headers=auth(team.supervisor_key)
        ).status_code
        == 404
    )
    actions = [
        a.action
        for a in session.execute(
            select(AuditLog).where(AuditLog.record_type == "rota_override").order_by(AuditLog.id)
        ).scalars()
    ]
    assert actions == ["rota_override.create", "rota_override.delete"]


def test_old_long_override_and_one_far_ahead_are_both_seen(client, team):
    # One turn that outlasts every window (500 weeks): only overrides can change the answer.
    body = weekly(team)
    body["layers"][0].update(turn={"unit": "weeks", "length": 500}, participants=[team.a.id])
    rota = create(client, team, body)
    assert oncall(client, team, rota["id"], NOW)["until"] is None
    # An override 30 days ahead lies beyond the first window the service loads.
    ahead = NOW + timedelta(days=30)
    client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={
            "staff_id": team.b.id,
            "start": ahead.isoformat(),
            "end": (ahead + timedelta(days=1)).isoformat(),
        },
    )
    assert datetime.fromisoformat(oncall(client, team, rota["id"], NOW)["until"]) == ahead
    # An override that began 300 days ago and is still running covers now.
    client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={
            "staff_id": team.b.id,
            "start": (NOW - timedelta(days=300)).isoformat(),
            "end": (NOW + timedelta(hours=1)).isoformat(),
        },
    )
    now_on = oncall(client, team, rota["id"], NOW)
    assert (now_on["staff"]["id"], now_on["source"]) == (team.b.id, "override")
    assert datetime.fromisoformat(now_on["until"]) == NOW + timedelta(hours=1)


def test_override_must_name_an_active_member_of_the_rotas_team(client, team, session):
    rota = create(client, team, weekly(team))
    window = {"start": NOW.isoformat(), "end": (NOW + timedelta(hours=1)).isoformat()}
    for staff_id in (team.outsider.id, 2_000_000_000):
        r = client.post(
            f"/v1/rotas/{rota['id']}/overrides",
            headers=auth(team.supervisor_key),
            json={"staff_id": staff_id, **window},
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "staff_id"]
    team.b.active = False
    session.add(team.b)
    session.commit()
    r = client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={"staff_id": team.b.id, **window},
    )
    assert r.status_code == 422
    assert (
        client.get(f"/v1/rotas/{rota['id']}/overrides", headers=auth(team.supervisor_key)).json()
        == []
    )


def test_12_hour_rota_hands_off_at_0800_and_2000_local_in_schedule_calendar_and_notices(
    client, team, clock, session
):
    """A day/night rota anchored at 08:00 New York keeps 08:00/20:00 across the
    March (07:00Z) and November (06:00Z) changes: in the schedule, in the
    calendar feeds and in the shift notice 30 minutes before a handoff."""
    from icalendar import Calendar

    from app.escalation.notices import send_shift_notices
    from app.messaging.models import OutboundMessage

    ny = ZoneInfo("America/New_York")
    body = weekly(team, name="Day and night")
    body["layers"][0].update(
        name="day-night", turn={"unit": "hours", "length": 12}, start="2026-03-01T08:00"
    )
    rota = create(client, team, body)
    names = {team.a.id: "Alice", team.b.id: "Bob"}  # turn 0 (08:00) is Alice's

    def schedule(start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
        r = client.get(
            f"/v1/rotas/{rota['id']}/schedule",
            params={"start": start.isoformat(), "end": end.isoformat()},
            headers=auth(team.case_manager_key),
        )
        assert r.status_code == 200, r.text
        return [
            (
                datetime.fromisoformat(x["start"]),
                datetime.fromisoformat(x["end"]),
                names[x["staff_id"]],
            )
            for x in r.json()
        ]

    def utc(*args) -> datetime:
        return datetime(*args, tzinfo=UTC)

    assert schedule(utc(2026, 3, 7, 13), utc(2026, 3, 9, 12)) == [
        (utc(2026, 3, 7, 13), utc(2026, 3, 8, 1), "Alice"),  # 08:00-20:00 EST
        (utc(2026, 3, 8, 1), utc(2026, 3, 8, 12), "Bob"),  # 20:00 EST-08:00 EDT, 11 h
        (utc(2026, 3, 8, 12), utc(2026, 3, 9, 0), "Alice"),  # 08:00-20:00 EDT
        (utc(2026, 3, 9, 0), utc(2026, 3, 9, 12), "Bob"),
    ]
    assert schedule(utc(2026, 10, 31, 12), utc(2026, 11, 2, 13)) == [
        (utc(2026, 10, 31, 12), utc(2026, 11, 1, 0), "Alice"),  # 08:00-20:00 EDT
        (utc(2026, 11, 1, 0), utc(2026, 11, 1, 13), "Bob"),  # 20:00 EDT-08:00 EST, 13 h
        (utc(2026, 11, 1, 13), utc(2026, 11, 2, 1), "Alice"),  # 08:00-20:00 EST
        (utc(2026, 11, 2, 1), utc(2026, 11, 2, 13), "Bob"),
    ]

    def local_times(content: bytes, after: datetime) -> set[tuple[str, str, str]]:
        """(local start, local end, summary) of every event not clipped by the feed's window."""
        found = set()
        for event in Calendar.from_ical(content).walk("VEVENT"):
            start, end = event.decoded("dtstart"), event.decoded("dtend")
            if after < start and end - start >= timedelta(hours=11):
                found.add(
                    (
                        f"{start.astimezone(ny):%H:%M}",
                        f"{end.astimezone(ny):%H:%M}",
                        str(event["summary"]),
                    )
                )
        return found

    # The rota's calendar seen on 5 March covers the spring change ...
    clock.now = datetime(2026, 3, 5, 17, tzinfo=UTC)
    feed = client.get(f"/v1/rotas/{rota['id']}/calendar.ics", headers=auth(team.case_manager_key))
    assert feed.status_code == 200
    assert local_times(feed.content, clock.now - timedelta(days=7)) == {
        ("08:00", "20:00", "On call: Day and night (Alice Ames)"),
        ("20:00", "08:00", "On call: Day and night (Bob Berg)"),
    }
    assert b"DTSTART:20260308T010000Z" in feed.content and b"DTEND:20260308T120000Z" in feed.content
    # ... and Alice's subscription feed seen on 28 October the autumn one.
    clock.now = datetime(2026, 10, 28, 17, tzinfo=UTC)
    url = client.post(
        f"/v1/staff/{team.a.id}/calendar-token", headers=auth(team.case_manager_key)
    ).json()["url"]
    feed = client.get("/" + url.split("/", 3)[3])
    assert feed.status_code == 200
    assert local_times(feed.content, clock.now - timedelta(days=7)) == {
        ("08:00", "20:00", "On call: Day and night (Alice Ames)")
    }
    assert b"DTSTART:20261101T130000Z" in feed.content  # Sunday 08:00 EST

    # Alice's notice for Sunday 8 March goes at 07:30 EDT (11:30Z), not an hour later.
    assert send_shift_notices(session=session, now=datetime(2026, 3, 8, 11, 31, tzinfo=UTC)) == 1
    session.expire_all()
    [notice] = (
        session.execute(select(OutboundMessage).where(OutboundMessage.purpose == "notice"))
        .scalars()
        .all()
    )
    assert notice.to_number == team.a.phone and "from Sun 08:00 until Sun 20:00" in notice.body
