"""The outcome summary for a team and period. Each figure is defined in
`DEFINITIONS` (also the API's documentation). Counts and percentiles are
computed in the database; only small per-client histories come into Python.

It stays one module: the figures, their period, their CSV and
the chart data are one report, which the API and the console both read
through this name; drawing the charts is app.reports.charts."""

from __future__ import annotations

import csv
import io
import math
import statistics
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col

from app.clients.models import Client, ClientEvent
from app.contacts.models import CONTACT_STATUSES, Channel, Contact, ContactEvent
from app.errors import Invalid
from app.oncall.service import team_coverage_gaps
from app.outcomes.schemas import NOT_DIVERTED, OUTCOMES
from app.outcomes.service import pair_stays
from app.spreadsheets import escape_row
from app.teams.models import Team

DEFINITIONS = {
    "period": "start and end are instants with a UTC offset (default: the 30 days up to the team's next local "
    "midnight); weeks, months and office hours are in the team's time zone",
    "contacts": "contacts opened in the period (created_at in [start, end))",
    "by_channel / by_caller_type / by_outcome / by_status": "those contacts counted by each field (null as 'unknown')",
    "first_response_seconds": "median and p90, in seconds, of first_response_at - created_at (the first text or "
    "answered call a human sent the caller) over contacts that had one; the median "
    "interpolates (percentile_cont), the p90 is the nearest rank (percentile_disc)",
    "acknowledge_seconds": "median and p90, in seconds, of acknowledged_at - created_at over acknowledged contacts "
    "(same percentile methods)",
    "acknowledged_at_level_1_share": "acknowledged contacts whose level was 1 when acknowledged / acknowledged contacts",
    "reached_fallback": "contacts whose timeline has a fallback_used event (the external crisis line was given)",
    "unanswered": "contacts whose timeline has an unanswered event (end of plan with nobody acknowledging), even if answered later",
    "after_hours_share": "contacts opened outside Mon-Fri 09:00-17:00 team-local / contacts",
    "repeat_within_7_days": "contacts whose number, or whose client (from any of their numbers), had another contact on this line in the 7 days before",
    "diversion_rate": "resolved contacts whose outcome is not er_visit or hospital_admission / resolved contacts with an outcome",
    "client_months": "active clients x period length in months (30.44 days)",
    "er_visits": "er_visit client events of active clients dated in the period",
    "hospital_days": "days of hospital stays (admission paired with the next discharge) inside the period",
    "er_visits_per_client_month": "er_visits / client_months",
    "hospital_days_per_client_month": "days of hospital stays overlapping the period / client_months (open stays run to the period end)",
    "community_tenure_share": "client-days not in hospital or jail (jail_booking to jail_release) / client-days",
    "coverage_gap_hours": "hours in the period with nobody on call in the primary (priority 1) rota, overrides "
    "included; no primary rota means the whole period",
}


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p90": None}
    values = sorted(values)
    # Nearest rank, as PostgreSQL's percentile_disc(0.9): the first value whose
    # cumulative share reaches 90 %.
    p90 = values[max(0, math.ceil(0.9 * len(values)) - 1)]
    return {"median": round(statistics.median(values), 1), "p90": round(p90, 1)}


def _seconds_between(session: Session, start_col, end_col, where) -> dict[str, float | None]:
    if session.get_bind().dialect.name == "postgresql":
        epoch = func.extract("epoch", end_col - start_col)
        row = session.execute(
            select(
                func.percentile_cont(0.5).within_group(epoch),
                func.percentile_disc(0.9).within_group(epoch),
            ).where(*where, end_col.is_not(None))
        ).one()
        return {
            "median": None if row[0] is None else round(float(row[0]), 1),
            "p90": None if row[1] is None else round(float(row[1]), 1),
        }
    rows = session.execute(select(start_col, end_col).where(*where, end_col.is_not(None))).all()
    return _percentiles([(b - a).total_seconds() for a, b in rows])


def _pg_percentiles(session: Session, where) -> dict:
    """PostgreSQL: both percentiles in one scan, over intervals (no per-row epoch maths)."""
    response = col(Contact.first_response_at) - col(Contact.created_at)
    ack = col(Contact.acknowledged_at) - col(Contact.created_at)
    row = session.execute(
        select(
            func.percentile_cont(0.5).within_group(response),
            func.percentile_disc(0.9).within_group(response),
            func.percentile_cont(0.5).within_group(ack),
            func.percentile_disc(0.9).within_group(ack),
        ).where(*where)
    ).one()

    def seconds(value):
        return None if value is None else round(value.total_seconds(), 1)

    return {
        "first_response_seconds": {"median": seconds(row[0]), "p90": seconds(row[1])},
        "acknowledge_seconds": {"median": seconds(row[2]), "p90": seconds(row[3])},
    }


BREAKDOWNS: dict[str, tuple[Mapped[str | None], tuple[str | None, ...]]] = {
    "by_channel": (col(Contact.channel), tuple(Channel)),
    "by_caller_type": (col(Contact.caller_type), ("self", "family", "other", None)),
    "by_outcome": (col(Contact.outcome), (*OUTCOMES, None)),
    "by_status": (col(Contact.status), CONTACT_STATUSES),
}


def _event_contacts(session: Session, kind: str, where) -> int:
    return session.execute(
        select(func.count(func.distinct(ContactEvent.contact_id)))
        .join(Contact, col(Contact.id) == col(ContactEvent.contact_id))
        .where(col(ContactEvent.kind) == kind, *where)
    ).scalar_one()


def _overlap_days(a: datetime, b: datetime, start: datetime, end: datetime) -> float:
    lo, hi = max(a, start), min(b, end)
    return max(0.0, (hi - lo).total_seconds() / 86400)


def _client_measures(session: Session, team: Team, start: datetime, end: datetime) -> dict:
    client_ids = list(
        session.execute(
            select(col(Client.id)).where(
                col(Client.team_id) == team.id, col(Client.status) == "active"
            )
        ).scalars()
    )
    period_days = (end - start).total_seconds() / 86400
    client_months = len(client_ids) * period_days / 30.44
    if not client_ids:
        return {
            "client_months": 0,
            "er_visits_per_client_month": None,
            "hospital_days_per_client_month": None,
            "community_tenure_share": None,
            "er_visits": 0,
            "hospital_days": 0,
        }
    events = session.execute(
        select(col(ClientEvent.client_id), col(ClientEvent.kind), col(ClientEvent.at)).where(
            col(ClientEvent.client_id).in_(client_ids), col(ClientEvent.at) < end
        )
    ).all()
    by_client: dict[int, list] = {}
    for client_id, kind, at in events:
        by_client.setdefault(client_id, []).append((kind, at))
    er_visits = sum(1 for _, kind, at in events if kind == "er_visit" and start <= at < end)
    hospital_days = jail_days = 0.0
    for history in by_client.values():
        for stay in pair_stays(
            [e for e in history if e[0] in ("hospital_admission", "hospital_discharge")]
        ):
            hospital_days += _overlap_days(stay.admitted_at, stay.discharged_at or end, start, end)
        booked = None
        for kind, at in sorted(history, key=lambda e: e[1]):
            if kind == "jail_booking" and booked is None:
                booked = at
            elif kind == "jail_release" and booked is not None:
                jail_days += _overlap_days(booked, at, start, end)
                booked = None
        if booked is not None:
            jail_days += _overlap_days(booked, end, start, end)
    client_days = len(client_ids) * period_days
    return {
        "client_months": round(client_months, 3),
        "er_visits": er_visits,
        "hospital_days": round(hospital_days, 2),
        "er_visits_per_client_month": round(er_visits / client_months, 4)
        if client_months
        else None,
        "hospital_days_per_client_month": round(hospital_days / client_months, 4)
        if client_months
        else None,
        "community_tenure_share": round(
            max(0.0, client_days - hospital_days - jail_days) / client_days, 4
        )
        if client_days
        else None,
    }


def summary(*, session: Session, team: Team, start: datetime, end: datetime) -> dict:
    if session.get_bind().dialect.name == "postgresql":
        # The percentiles sort a row per contact: keep those
        # sorts in memory (for this transaction only) instead of spilling to disk.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    where = [
        col(Contact.team_id) == team.id,
        col(Contact.created_at) >= start,
        col(Contact.created_at) < end,
    ]
    # One scan for every count, breakdowns included (FILTER works on both backends).
    breakdown_columns = [
        func.count().filter(column.is_(None) if value is None else column == value)
        for column, values in BREAKDOWNS.values()
        for value in values
    ]
    row = session.execute(
        select(
            func.count(),
            func.count().filter(col(Contact.acknowledged_at).is_not(None)),
            func.count().filter(col(Contact.acknowledged_at).is_not(None), col(Contact.level) == 1),
            func.count().filter(col(Contact.outcome).is_not(None)),
            func.count().filter(
                col(Contact.outcome).is_not(None), col(Contact.outcome).not_in(NOT_DIVERTED)
            ),
            func.count().filter(col(Contact.after_hours).is_(True)),
            func.count().filter(col(Contact.repeat_within_7d).is_(True)),
            *breakdown_columns,
        )
        .select_from(Contact)
        .where(*where)
    ).one()
    total, acknowledged, at_level_1, resolved_with_outcome, diverted, after_hours, repeats = row[:7]
    counts: dict[str, dict[str, int]] = {}
    position = 7
    for name, (_, values) in BREAKDOWNS.items():
        counts[name] = {}
        for value in values:
            if row[position]:
                counts[name][value if value is not None else "unknown"] = row[position]
            position += 1
    if session.get_bind().dialect.name == "postgresql":
        timing = _pg_percentiles(session, where)
    else:
        timing = {
            "first_response_seconds": _seconds_between(
                session, Contact.created_at, Contact.first_response_at, where
            ),
            "acknowledge_seconds": _seconds_between(
                session, Contact.created_at, Contact.acknowledged_at, where
            ),
        }
    gaps = team_coverage_gaps(session=session, team_id=team.id, start=start, end=end)
    return {
        "team_id": team.id,
        "timezone": team.timezone,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "contacts": total,
        **counts,
        "first_response_seconds": timing["first_response_seconds"],
        "acknowledge_seconds": timing["acknowledge_seconds"],
        "acknowledged_at_level_1_share": round(at_level_1 / acknowledged, 4)
        if acknowledged
        else None,
        "reached_fallback": _event_contacts(session, "fallback_used", where),
        "unanswered": _event_contacts(session, "unanswered", where),
        "after_hours_share": round(after_hours / total, 4) if total else None,
        "repeat_within_7_days": repeats,
        "diversion_rate": round(diverted / resolved_with_outcome, 4)
        if resolved_with_outcome
        else None,
        **_client_measures(session, team, start, end),
        "coverage_gap_hours": round(sum((b - a).total_seconds() for a, b, _ in gaps) / 3600, 2),
    }


def flatten(report: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in report.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += flatten(value, name + ".")
        else:
            rows.append((name, value))
    return rows


def checked_period(
    team: Team, start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The report's period (defaults as `local_period`), refused with a
    422 naming the field when it cannot be one."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise Invalid(["query", name], "must include a UTC offset")
    start, end = local_period(team, start, end, now)
    if end <= start:
        raise Invalid(["query", "end"], "must be after start")
    if (end - start).days > 731:
        raise Invalid(["query", "end"], "a report may span at most two years")
    return start, end


def summary_csv(report: dict) -> str:
    """The summary as `metric,value` rows; a cell a spreadsheet would run is quoted."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["metric", "value"])
    writer.writerows(escape_row(list(row)) for row in flatten(report))
    return out.getvalue()


def local_period(
    team: Team, start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """Default: the last 30 days ending at the team's next local midnight."""
    zone = ZoneInfo(team.timezone)
    if end is None:
        local = now.astimezone(zone)
        end = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
    if start is None:
        start = end - timedelta(days=30)
    return start, end


# ------------------------------------------------------------- chart data

ACK_BUCKETS = [
    (60, "<1m"),
    (120, "1-2m"),
    (300, "2-5m"),
    (600, "5-10m"),
    (1200, "10-20m"),
    (1800, "20-30m"),
    (float("inf"), ">30m"),
]


def chart_data(*, session: Session, team: Team, start: datetime, end: datetime) -> dict:
    zone = ZoneInfo(team.timezone)
    where = [
        col(Contact.team_id) == team.id,
        col(Contact.created_at) >= start,
        col(Contact.created_at) < end,
    ]
    rows = session.execute(
        select(col(Contact.created_at), col(Contact.outcome), col(Contact.acknowledged_at)).where(
            *where
        )
    ).all()
    first_monday = start.astimezone(zone).date() - timedelta(days=start.astimezone(zone).weekday())
    weeks: list = []
    day = first_monday
    while datetime.combine(day, datetime.min.time(), zone) < end:
        weeks.append(day)
        day += timedelta(days=7)
    outcomes = sorted({(o or "open/unrecorded") for _, o, _ in rows})
    per_week = {o: [0] * len(weeks) for o in outcomes}
    ack_hist = [0] * len(ACK_BUCKETS)
    for created, outcome, acked in rows:
        index = (created.astimezone(zone).date() - first_monday).days // 7
        if 0 <= index < len(weeks):
            per_week[outcome or "open/unrecorded"][index] += 1
        if acked is not None:
            seconds = (acked - created).total_seconds()
            ack_hist[next(i for i, (limit, _) in enumerate(ACK_BUCKETS) if seconds < limit)] += 1
    # Hospital days per client-month, per calendar month of the period.
    months, hospital = [], []
    cursor = start.astimezone(zone).date().replace(day=1)
    while datetime.combine(cursor, datetime.min.time(), zone) < end:
        nxt = (cursor + timedelta(days=32)).replace(day=1)
        m_start = max(start, datetime.combine(cursor, datetime.min.time(), zone))
        m_end = min(end, datetime.combine(nxt, datetime.min.time(), zone))
        measures = _client_measures(session, team, m_start, m_end)
        months.append(cursor.strftime("%b %Y"))
        hospital.append(measures["hospital_days_per_client_month"] or 0)
        cursor = nxt
    return {
        "weeks": [w.strftime("%d %b") for w in weeks],
        "per_week": per_week,
        "ack_labels": [label for _, label in ACK_BUCKETS],
        "ack_hist": ack_hist,
        "months": months,
        "hospital_days_per_client_month": hospital,
    }
