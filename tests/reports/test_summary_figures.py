"""Every summary figure checked against a fixture of contact rows and client
events built directly, with the expected values computed from the fixture
(the same test runs on SQLite and on PostgreSQL, whose percentiles are SQL)."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.clients.models import ClientEvent
from app.reports.service import summary
from tests.conftest import auth
from tests.factories import make_client, make_contact, make_key, make_staff, make_team

NY = ZoneInfo("America/New_York")
UTC = UTC
START = datetime(2026, 6, 1, tzinfo=NY)
END = datetime(2026, 7, 1, tzinfo=NY)

# local time, after hours?, channel, status, level, ack s, first response s, outcome, caller type, number, events
ROWS = [
    ("2026-06-01 10:00", False, "sms", "resolved", 1, 40, 40, "resolved_by_phone", "self", "A", ()),
    ("2026-06-02 22:00", True, "voice", "resolved", 2, 300, 250, "er_visit", "family", "B", ()),
    (
        "2026-06-06 12:00",
        True,
        "sms",
        "unanswered",
        6,
        None,
        None,
        None,
        None,
        "C",
        ("fallback_used", "unanswered"),
    ),
    ("2026-06-03 16:59", False, "sms", "resolved", 1, 7, 5, "safety_plan_used", "self", "A", ()),
    ("2026-06-11 08:59", True, "sms", "acknowledged", 1, 61, 61, None, "other", "D", ()),
    (
        "2026-06-12 17:00",
        True,
        "voice",
        "resolved",
        1,
        12,
        12,
        "hospital_admission",
        "self",
        "E",
        (),
    ),
    ("2026-06-15 09:00", False, "sms", "resolved", 3, 900, 120, "non_crisis", "family", "A", ()),
    ("2026-06-16 13:00", False, "sms", "resolved", 1, 33, 30, "in_person_visit", "self", "F", ()),
    ("2026-06-17 02:00", True, "sms", "resolved", 2, 18, 18, "referred_988", "self", "G", ()),
    (
        "2026-06-21 11:00",
        True,
        "voice",
        "resolved",
        1,
        120,
        100,
        "unable_to_reach",
        "other",
        "F",
        (),
    ),
    ("2026-06-30 23:59", True, "sms", "acknowledged", 1, 45, 45, None, None, "H", ()),
]
NUMBERS = {key: f"+1201555{150 + i:04d}" for i, key in enumerate("ABCDEFGH")}
BEFORE = ("2026-05-31 23:59", "A")  # outside the period, makes the first contact a repeat


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=NY).astimezone(UTC)


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def build(session):
    team = make_team(session, timezone="America/New_York")
    other = make_team(session, timezone="America/New_York")
    # An acknowledged contact is always held by a person.
    holder, other_holder = make_staff(session, team), make_staff(session, other)
    made = [
        (
            local(BEFORE[0]),
            lambda at: make_contact(session, team, created_at=at, from_number=NUMBERS[BEFORE[1]]),
        )
    ]
    for when, _, channel, status, level, ack, resp, outcome, caller, number, kinds in ROWS:

        def factory(
            at,
            channel=channel,
            status=status,
            level=level,
            ack=ack,
            resp=resp,
            outcome=outcome,
            caller=caller,
            number=number,
            kinds=kinds,
        ):
            return make_contact(
                session,
                team,
                created_at=at,
                channel=channel,
                status=status,
                level=level,
                outcome=outcome,
                caller_type=caller,
                from_number=NUMBERS[number],
                acknowledged_at=None if ack is None else at + timedelta(seconds=ack),
                acknowledged_by=holder.id if status == "acknowledged" else None,
                first_response_at=None if resp is None else at + timedelta(seconds=resp),
                resolved_at=at + timedelta(hours=1) if status == "resolved" else None,
                events=[(kind, at + timedelta(minutes=30)) for kind in kinds],
            )

        made.append((local(when), factory))
    # Inserted in time order, as they would arrive (the repeat flag looks back).
    for at, factory in sorted(made, key=lambda m: m[0]):
        factory(at)
    # Another team's contact in the period is not counted.
    make_contact(
        session,
        other,
        created_at=local("2026-06-10 12:00"),
        from_number=NUMBERS["A"],
        acknowledged_at=local("2026-06-10 12:00") + timedelta(seconds=1),
        acknowledged_by=other_holder.id,
        status="acknowledged",
        events=[("fallback_used", local("2026-06-10 12:30"))],
    )
    return team, other


STAYS = {  # client -> events (kind, UTC)
    "one": [
        ("er_visit", "2026-05-20 10:00"),
        ("er_visit", "2026-06-09 10:00"),
        ("hospital_admission", "2026-06-10 12:00"),
        ("hospital_discharge", "2026-06-13 00:00"),
        ("hospital_admission", "2026-06-28 04:00"),
    ],
    "two": [
        ("hospital_admission", "2026-05-30 04:00"),
        ("hospital_discharge", "2026-06-02 04:00"),
        ("jail_booking", "2026-06-20 04:00"),
        ("jail_release", "2026-06-22 16:00"),
        ("er_visit", "2026-06-25 10:00"),
        ("housing_change", "2026-06-26 10:00"),
    ],
}


def overlap_days(a: datetime, b: datetime) -> float:
    lo, hi = max(a, START), min(b, END)
    return max(0.0, (hi - lo).total_seconds() / 86400)


def expected_client_measures():
    hospital = jail = 0.0
    er = 0
    for events in STAYS.values():
        opened = {}
        for kind, when in events:
            at = utc(when)
            if kind in ("hospital_admission", "jail_booking"):
                opened[kind] = at
            elif kind == "hospital_discharge":
                hospital += overlap_days(opened.pop("hospital_admission"), at)
            elif kind == "jail_release":
                jail += overlap_days(opened.pop("jail_booking"), at)
            elif kind == "er_visit" and START <= at < END:
                er += 1
        if "hospital_admission" in opened:
            hospital += overlap_days(opened["hospital_admission"], END)
    client_days = len(STAYS) * (END - START).total_seconds() / 86400
    months = client_days / 30.44
    return er, hospital, jail, client_days, months


def test_summary_figures_match_the_fixture(session):
    team, _ = build(session)
    for events in STAYS.values():
        client = make_client(session, team)
        for kind, when in events:
            session.add(ClientEvent(client_id=client.id, kind=kind, at=utc(when)))
    make_client(session, team, status="discharged")  # not in the program: no client-months
    session.flush()

    report = summary(session=session, team=team, start=START, end=END)

    assert report["contacts"] == len(ROWS)
    assert report["by_channel"] == dict(Counter(r[2] for r in ROWS))
    assert report["by_status"] == dict(Counter(r[3] for r in ROWS))
    assert report["by_outcome"] == dict(Counter(r[7] or "unknown" for r in ROWS))
    assert report["by_caller_type"] == dict(Counter(r[8] or "unknown" for r in ROWS))

    acks = sorted(r[5] for r in ROWS if r[5] is not None)
    responses = sorted(r[6] for r in ROWS if r[6] is not None)
    for name, values in (("acknowledge_seconds", acks), ("first_response_seconds", responses)):
        # median interpolates (percentile_cont); p90 is the nearest rank (percentile_disc)
        assert report[name] == {
            "median": round(statistics.median(values), 1),
            "p90": values[math.ceil(0.9 * len(values)) - 1],
        }, name
    acknowledged = [r for r in ROWS if r[5] is not None]
    assert report["acknowledged_at_level_1_share"] == round(
        sum(r[4] == 1 for r in acknowledged) / len(acknowledged), 4
    )
    assert report["reached_fallback"] == sum("fallback_used" in r[10] for r in ROWS)
    assert report["unanswered"] == sum("unanswered" in r[10] for r in ROWS)
    assert report["after_hours_share"] == round(sum(r[1] for r in ROWS) / len(ROWS), 4)

    arrivals = sorted([(local(BEFORE[0]), BEFORE[1])] + [(local(r[0]), r[9]) for r in ROWS])
    repeats = sum(
        1
        for i, (at, number) in enumerate(arrivals)
        if START <= at < END
        and any(n == number and at - timedelta(days=7) <= earlier for earlier, n in arrivals[:i])
    )
    assert report["repeat_within_7_days"] == repeats

    with_outcome = [r[7] for r in ROWS if r[7] is not None]
    diverted = [o for o in with_outcome if o not in ("er_visit", "hospital_admission")]
    assert report["diversion_rate"] == round(len(diverted) / len(with_outcome), 4)

    er, hospital, jail, client_days, months = expected_client_measures()
    assert report["er_visits"] == er
    assert report["hospital_days"] == round(hospital, 2)
    assert report["client_months"] == round(months, 3)
    assert report["er_visits_per_client_month"] == round(er / months, 4)
    assert report["hospital_days_per_client_month"] == round(hospital / months, 4)
    assert report["community_tenure_share"] == round(
        (client_days - hospital - jail) / client_days, 4
    )

    # No primary rota: the whole period is one coverage gap.
    assert report["coverage_gap_hours"] == round((END - START).total_seconds() / 3600, 2)


def test_empty_period_reports_nulls_not_errors(session):
    team = make_team(session)
    report = summary(session=session, team=team, start=START, end=END)
    assert report["contacts"] == 0
    assert report["acknowledge_seconds"] == {"median": None, "p90": None}
    assert report["diversion_rate"] is None and report["after_hours_share"] is None


def test_summary_endpoint_period_is_team_scoped_and_documented(client, app, session):
    team, other = build(session)
    supervisor = make_key(session, "supervisor", team)
    admin = make_key(session, "admin")
    session.commit()
    params = {"team_id": team.id, "start": START.isoformat(), "end": END.isoformat()}
    assert client.get("/v1/reports/summary", params=params, headers=auth(supervisor)).json()[
        "contacts"
    ] == len(ROWS)
    assert client.get("/v1/reports/summary", params=params, headers=auth(admin)).json()[
        "contacts"
    ] == len(ROWS)
    assert client.get(
        "/v1/reports/summary",
        headers=auth(supervisor),
        params={"team_id": other.id, "start": START.isoformat(), "end": END.isoformat()},
    ).status_code in (403, 404)
    r = client.get(
        "/v1/reports/summary", headers=auth(supervisor), params={**params, "end": params["start"]}
    )
    assert r.status_code == 422 and "end" in r.text
    description = client.get("/openapi.json").json()["paths"]["/v1/reports/summary"]["get"][
        "description"
    ]
    for figure in (
        "diversion_rate",
        "repeat_within_7_days",
        "coverage_gap_hours",
        "community_tenure_share",
    ):
        assert figure in description
