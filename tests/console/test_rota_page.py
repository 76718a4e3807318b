"""A rota's page: the week and month calendar (the final schedule from the
rota engine, in the team's time zone, gaps in red and named in words) and
the layers form, refused for gaps exactly as PUT /v1/rotas/{id} is (409,
the holes listed) until the person presses "Publish with these gaps"."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.auth.models import AuditLog
from app.console import calendar
from app.oncall.models import Rota, RotaOverride
from tests.console.conftest import csrf_of, sign_in

NY = ZoneInfo("America/New_York")
SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def _rota(session, world) -> Rota:
    return session.execute(select(Rota).where(Rota.team_id == world.team.id)).scalars().one()


def _layer_form(world, token: str, **changes) -> dict:
    """The layers form as the page renders it for the world's rota, with changes."""
    data = {
        "csrf_token": token,
        "name": "Primary",
        "layer_slots": "2",
        "layer-0-name": "weekly",
        "layer-0-length": "1",
        "layer-0-unit": "weeks",
        "layer-0-start": "2026-01-05T09:00",
        "layer-0-participant": [str(world.oncall.id), "", ""],
        "layer-0-restriction_slots": "1",
        "layer-1-name": "",
        "layer-1-length": "1",
        "layer-1-unit": "weeks",
        "layer-1-start": "",
        "layer-1-participant": ["", "", ""],
        "layer-1-restriction_slots": "1",
    }
    data.update(changes)
    return data


def _days(html: str) -> list[str]:
    return re.findall(r'<li class="day[^"]*">\s*<h3 class="day-name">([^<]+)', html)


# ------------------------------------------------------------ the calendar


def test_a_shift_across_midnight_is_cut_at_the_team_s_local_midnight():
    monday = date(2026, 11, 16)
    start = datetime(2026, 11, 17, 3, 0, tzinfo=UTC)  # Mon 22:00 in New York
    cal = calendar.build(
        view="week",
        around=date(2026, 11, 18),
        today=date(2026, 11, 18),
        zone=NY,
        shifts=[(start, start + timedelta(hours=8), 7, "layer")],
        gaps=[],
    )
    assert cal.first == monday and len(cal.days) == 7
    assert cal.start == datetime(2026, 11, 16, tzinfo=NY)
    assert [(e.start, e.end, e.staff_id) for e in cal.days[0].entries] == [("22:00", "24:00", 7)]
    assert [(e.start, e.end) for e in cal.days[1].entries] == [("00:00", "06:00")]
    assert cal.days[2].today and not cal.days[1].today
    assert (cal.previous, cal.following) == (date(2026, 11, 9), date(2026, 11, 23))


def test_a_month_is_whole_weeks_from_monday_and_a_dst_day_keeps_its_hours():
    cal = calendar.build(
        view="month",
        around=date(2026, 11, 18),
        today=date(2026, 11, 18),
        zone=NY,
        shifts=[],
        gaps=[(datetime(2026, 11, 1, 4, 0, tzinfo=UTC), datetime(2026, 11, 2, 5, 0, tzinfo=UTC))],
    )
    # November 2026 starts on a Sunday: the grid starts Monday 26 October
    assert cal.days[0].day == date(2026, 10, 26) and not cal.days[0].in_period
    assert cal.days[-1].day == date(2026, 12, 6) and len(cal.days) % 7 == 0
    first = next(d for d in cal.days if d.day == date(2026, 11, 1))
    # the day clocks fall back: 25 hours of gap, still shown 00:00–24:00
    assert [(e.kind, e.start, e.end) for e in first.entries] == [("gap", "00:00", "24:00")]
    assert first.has_gap and first.in_period
    assert (cal.previous, cal.following) == (date(2026, 10, 1), date(2026, 12, 1))


def test_the_week_shows_who_is_on_call_and_an_override_from_the_engine(
    client, db, world, session, clock
):
    rota = _rota(session, world)
    start = datetime(2026, 11, 19, 10, 0, tzinfo=NY)
    session.add(
        RotaOverride(
            rota_id=rota.id,
            staff_id=world.case_manager.id,
            start=start,
            end=start + timedelta(hours=2),
        )
    )
    session.commit()
    sign_in(client, db, world.case_manager)  # case managers see the calendar
    page = client.get(f"/console/oncall/rotas/{rota.id}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html = page.text
    assert "Week of Mon 16 Nov 2026" in html and "Someone is on call throughout." in html
    assert _days(html)[0].startswith("Mon 16 Nov") and len(_days(html)) == 7
    assert "10:00–12:00</span> Casey Manager (override)" in html
    assert "12:00–24:00</span> Owen Call" in html
    assert "Gap: nobody on call" not in html
    assert "Layers" not in html.split("</nav>", 2)[-1]  # no layers form for a case manager
    month = client.get(f"/console/oncall/rotas/{rota.id}?view=month&date=2026-12-10").text
    assert "December 2026" in month and _days(month)[0].startswith("Mon 30 Nov")
    assert client.get(f"/console/oncall/rotas/{rota.id}?date=someday").status_code == 422


def test_gaps_are_red_and_named_in_words(client, db, world, session, clock):
    rota = _rota(session, world)
    layer = dict(rota.layers[0])
    layer["restrictions"] = [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    ]
    rota.layers = [layer]
    session.add(rota)
    session.commit()
    sign_in(client, db, world.supervisor)
    html = client.get(f"/console/oncall/rotas/{rota.id}").text
    assert "Nobody is on call for part of 7 days" in html
    assert '<li class="entry gap"><strong>Gap: nobody on call</strong> 17:00–24:00</li>' in html
    assert '<li class="entry gap"><strong>Gap: nobody on call</strong> 00:00–24:00</li>' in html


def test_another_team_s_rota_is_not_found(client, db, world, session):
    other = Rota(team_id=world.other_team.id, name="Theirs", priority=1, timezone="UTC", layers=[])
    session.add(other)
    session.commit()
    sign_in(client, db, world.supervisor)
    assert client.get(f"/console/oncall/rotas/{other.id}").status_code == 404
    token = csrf_of(client.get("/console/oncall").text)
    refused = client.post(f"/console/oncall/rotas/{other.id}/layers", data={"csrf_token": token})
    assert refused.status_code == 404


# ------------------------------------------------------------ the layers form


def test_a_layer_edit_leaving_gaps_is_refused_then_published_deliberately(
    client, db, world, session, clock
):
    rota = _rota(session, world)
    sign_in(client, db, world.supervisor)
    page = client.get(f"/console/oncall/rotas/{rota.id}").text
    assert 'name="layer-0-start"' in page and 'value="2026-01-05T09:00"' in page
    token = csrf_of(page)
    office_only = _layer_form(
        world,
        token,
        **{
            "layer-0-r0-days": ["mon", "tue", "wed", "thu", "fri"],
            "layer-0-r0-start": "09:00",
            "layer-0-r0-end": "17:00",
        },
    )
    refused = client.post(f"/console/oncall/rotas/{rota.id}/layers", data=office_only)
    assert refused.status_code == 409
    assert "leaves nobody on call in the next 14 days" in refused.text
    assert "Gap: nobody on call Wed 18 Nov 17:00 – Thu 19 Nov 09:00" in refused.text
    assert "Publish with these gaps" in refused.text
    assert 'value="17:00"' in refused.text  # what was typed is kept
    session.expire_all()
    assert _rota(session, world).layers[0]["restrictions"] == []  # nothing changed

    office_only["allow_gaps"] = "true"
    done = client.post(
        f"/console/oncall/rotas/{rota.id}/layers", data=office_only, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/oncall/rotas/{rota.id}?done=gaps"
    session.expire_all()
    assert _rota(session, world).layers[0]["restrictions"] == [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    ]
    audit = session.execute(select(AuditLog).where(AuditLog.action == "rota.update")).scalars()
    assert [a.detail for a in audit] == [{"allow_gaps": True}]
    coverage = client.get(
        f"/v1/teams/{world.team.id}/coverage",
        headers={"Authorization": f"Bearer {world.supervisor_key}"},
    ).json()
    assert coverage["gaps"] and coverage["gap_hours"] > 0  # the API sees what was published
    shown = client.get(done.headers["location"]).text
    assert "Layers published with coverage gaps." in shown and "Gap: nobody on call" in shown


def test_a_layer_added_by_form_is_saved_without_gaps_and_wins_where_it_has_someone(
    client, db, world, session, clock
):
    rota = _rota(session, world)
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get(f"/console/oncall/rotas/{rota.id}").text)
    form = _layer_form(
        world,
        token,
        **{
            "layer-1-name": "weekend days",
            "layer-1-length": "1",
            "layer-1-unit": "days",
            "layer-1-start": "2026-11-21T08:00",
            "layer-1-participant": ["", str(world.case_manager.id), str(world.backup_cm.id)],
            "layer-1-r0-days": ["sat", "sun"],
            "layer-1-r0-start": "08:00",
            "layer-1-r0-end": "20:00",
        },
    )
    done = client.post(f"/console/oncall/rotas/{rota.id}/layers", data=form)
    assert done.status_code == 200 and "Layers saved." in done.text  # followed the 303
    session.expire_all()
    layers = _rota(session, world).layers
    assert layers[1]["participants"] == [world.case_manager.id, world.backup_cm.id]
    assert layers[1]["turn"] == {"unit": "days", "length": 1}
    assert "08:00–20:00</span> Casey Manager" in done.text  # Saturday 21 Nov
    assert "08:00–20:00</span> Bea Backup" in done.text  # Sunday 22 Nov


def test_bad_layers_show_errors_next_to_their_fields_and_change_nothing(
    client, db, world, session, clock
):
    rota = _rota(session, world)
    before = [dict(layer) for layer in rota.layers]
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get(f"/console/oncall/rotas/{rota.id}").text)
    url = f"/console/oncall/rotas/{rota.id}/layers"
    cases = {
        "layer-0-length": {"layer-0-length": "0"},
        "layer-0-start": {"layer-0-start": "next week"},
        "layer-0-participants": {"layer-0-participant": ["", "", ""]},
        "layer-0-r0-end": {
            "layer-0-r0-days": ["mon"],
            "layer-0-r0-start": "09:00",
            "layer-0-r0-end": "25:00",
        },
        "name": {"name": ""},
        "layers": {"layer-0-remove": "1"},
    }
    for field, change in cases.items():
        refused = client.post(url, data=_layer_form(world, token, **change))
        assert refused.status_code == 422, (field, refused.status_code)
        assert f'id="{field}-error"' in refused.text, field
    stranger = client.post(
        url, data=_layer_form(world, token, **{"layer-0-participant": ["999999", SCRIPT]})
    )
    assert stranger.status_code == 422 and 'id="layer-0-participants-error"' in stranger.text
    assert "<script>alert" not in stranger.text
    assert client.post(url, data=_layer_form(world, "forged")).status_code == 403
    session.expire_all()
    assert _rota(session, world).layers == before
    client.cookies.clear()
    sign_in(client, db, world.case_manager)
    token = csrf_of(client.get("/console/oncall").text)
    assert client.post(url, data=_layer_form(world, token)).status_code == 403


def test_names_on_the_rota_page_are_escaped(client, db, world, session, clock):
    rota = _rota(session, world)
    rota.name = SCRIPT
    layer = dict(rota.layers[0])
    layer["name"] = SCRIPT
    rota.layers = [layer]
    world.oncall.name = SCRIPT
    session.add_all([rota, world.oncall])
    session.commit()
    sign_in(client, db, world.supervisor)
    html = client.get(f"/console/oncall/rotas/{rota.id}").text
    assert "<script>alert" not in html and html.count(ESCAPED) >= 4
