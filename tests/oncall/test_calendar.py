"""iCalendar export parsed back with icalendar, and the per-staff
subscription feed that needs no API key."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar

from tests.conftest import auth
from tests.oncall.conftest import NOW, weekly


def create(client, team, body):
    r = client.post(
        f"/v1/teams/{team.team.id}/rotas",
        json=body,
        params={"allow_gaps": "true"},
        headers=auth(team.supervisor_key),
    )
    assert r.status_code == 201, r.text
    return r.json()


def events(content: bytes) -> list[tuple[datetime, datetime, str]]:
    calendar = Calendar.from_ical(content)
    return sorted(
        (e.decoded("dtstart"), e.decoded("dtend"), str(e["summary"]))
        for e in calendar.walk("VEVENT")
    )


def schedule(client, team, rota_id, start, end) -> list[dict]:
    return client.get(
        f"/v1/rotas/{rota_id}/schedule",
        params={"start": start.isoformat(), "end": end.isoformat()},
        headers=auth(team.supervisor_key),
    ).json()


def test_rota_calendar_matches_the_schedule(client, team):
    body = weekly(team)
    body["layers"][0]["turn"] = {"unit": "days", "length": 2}
    rota = create(client, team, body)
    client.post(
        f"/v1/rotas/{rota['id']}/overrides",
        headers=auth(team.supervisor_key),
        json={
            "staff_id": team.b.id,
            "start": (NOW + timedelta(days=3)).isoformat(),
            "end": (NOW + timedelta(days=3, hours=6)).isoformat(),
        },
    )
    r = client.get(f"/v1/rotas/{rota['id']}/calendar.ics", headers=auth(team.case_manager_key))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    got = events(r.content)
    # The calendar covers a week back to 60 days ahead: exactly the final schedule.
    expected = schedule(client, team, rota["id"], NOW - timedelta(days=7), NOW + timedelta(days=60))
    assert [(s, e) for s, e, _ in got] == [
        (datetime.fromisoformat(x["start"]), datetime.fromisoformat(x["end"])) for x in expected
    ]
    names = {team.a.id: "Alice Ames", team.b.id: "Bob Berg"}
    assert [summary for _, _, summary in got] == [
        f"On call: Primary ({names[x['staff_id']]})" for x in expected
    ]
    assert any(x["source"] == "override" for x in expected)
    # One person's calendar is that person's shifts only.
    alice = events(
        client.get(
            f"/v1/rotas/{rota['id']}/calendar.ics",
            params={"staff_id": team.a.id},
            headers=auth(team.case_manager_key),
        ).content
    )
    assert alice == [g for g in got if "Alice" in g[2]] and 0 < len(alice) < len(got)
    r = client.get(
        f"/v1/rotas/{rota['id']}/calendar.ics",
        params={"staff_id": team.outsider.id},
        headers=auth(team.case_manager_key),
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "staff_id"]


def test_subscription_feed_covers_every_rota_of_the_team_without_a_key(client, team, clock):
    primary = create(client, team, weekly(team))
    backup = weekly(team, name="Backup", priority=2)
    backup["layers"][0].update(
        participants=[team.b.id, team.a.id], turn={"unit": "days", "length": 1}
    )
    backup = create(client, team, backup)
    r = client.post(f"/v1/staff/{team.a.id}/calendar-token", headers=auth(team.case_manager_key))
    assert r.status_code == 201 and r.json()["url"].startswith(
        "https://crisis.example.org/calendar/"
    )
    path = "/" + r.json()["url"].split("/", 3)[3]
    feed = client.get(path)  # no Authorization header
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    got = events(feed.content)
    assert got and all("Alice" in summary for _, _, summary in got)
    window = (NOW - timedelta(days=7), NOW + timedelta(days=60))
    mine = [
        (datetime.fromisoformat(x["start"]), datetime.fromisoformat(x["end"]))
        for rota in (primary, backup)
        for x in schedule(client, team, rota["id"], *window)
        if x["staff_id"] == team.a.id
    ]
    assert [(s, e) for s, e, _ in got] == sorted(mine)
    assert {summary.split(" (")[0] for _, _, summary in got} == {
        "On call: Primary",
        "On call: Backup",
    }
    # The feed moves with time: a month later it starts later.
    clock.advance(days=30)
    assert events(client.get(path).content)[0][0] > got[0][0]


def test_rotating_the_token_retires_the_old_url_and_wrong_tokens_are_404(client, team, session):
    create(client, team, weekly(team))
    first = client.post(
        f"/v1/staff/{team.a.id}/calendar-token", headers=auth(team.supervisor_key)
    ).json()["url"]
    second = client.post(
        f"/v1/staff/{team.a.id}/calendar-token", headers=auth(team.case_manager_key)
    ).json()["url"]
    assert first != second
    first_path, second_path = ("/" + u.split("/", 3)[3] for u in (first, second))
    assert client.get(first_path).status_code == 404
    assert client.get(second_path).status_code == 200
    assert client.get("/calendar/not-the-token.ics").status_code == 404
    assert client.get(second_path.replace(".ics", "x.ics")).status_code == 404
    # The token is stored hashed: the database never holds the URL's secret.
    session.refresh(team.a)
    assert team.a.calendar_token and team.a.calendar_token not in second
    # A staff member who leaves the program loses the feed.
    team.a.active = False
    session.add(team.a)
    session.commit()
    assert client.get(second_path).status_code == 404
