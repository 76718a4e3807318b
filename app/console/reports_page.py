"""Reports: the team's outcome summary for a date range, its charts and a
CSV download, for supervisors. The figures, charts, period rules and CSV
are the API's (app.reports.service and app.reports.router.charts, as GET
/v1/reports/summary and summary.html); every view is audited as report.read
like the API's. This module only adds readable labels and the form."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from app.auth.deps import SessionDep, require_role
from app.auth.models import Role
from app.auth.service import audit
from app.console.web import ConsoleUser, now_of, render
from app.errors import Invalid, NotFound
from app.reports import service
from app.reports.router import charts
from app.teams.models import Team

router = APIRouter(prefix="/console", include_in_schema=False)

BREAKDOWN_DEFINITION = "by_channel / by_caller_type / by_outcome / by_status"

# (key in the summary, readable label, how the value reads); the key is
# its key in DEFINITIONS too, but for the breakdowns, defined together.
FIGURES: list[tuple[str, str, str]] = [
    ("contacts", "Contacts", "count"),
    ("by_channel", "Contacts by channel", "counts"),
    ("by_caller_type", "Contacts by who got in touch", "counts"),
    ("by_outcome", "Contacts by outcome", "counts"),
    ("by_status", "Contacts by status now", "counts"),
    (
        "first_response_seconds",
        "Time to a human's first reply (median, 90th percentile)",
        "durations",
    ),
    ("acknowledge_seconds", "Time to acknowledge (median, 90th percentile)", "durations"),
    ("acknowledged_at_level_1_share", "Acknowledged by the first people paged", "share"),
    ("reached_fallback", "Given the external crisis line", "count"),
    ("unanswered", "Nobody acknowledged in time", "count"),
    ("after_hours_share", "Outside office hours", "share"),
    ("repeat_within_7_days", "Repeat contacts within 7 days", "count"),
    ("diversion_rate", "Diverted from ER and hospital", "share"),
    ("client_months", "Client-months", "number"),
    ("er_visits", "ER visits", "count"),
    ("er_visits_per_client_month", "ER visits per client-month", "number"),
    ("hospital_days", "Hospital days", "number"),
    ("hospital_days_per_client_month", "Hospital days per client-month", "number"),
    ("community_tenure_share", "Days in the community", "share"),
    ("coverage_gap_hours", "Hours with nobody on call", "hours"),
]
BREAKDOWNS = ("by_channel", "by_caller_type", "by_outcome", "by_status")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "none yet"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def readable(kind: str, value: Any) -> str:
    """A figure as a supervisor reads it: 42 %, 1 min 30 s, sms 3 · voice 1."""
    if kind == "counts":
        return " · ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items()) or "none"
    if kind == "durations":
        return f"{_duration(value['median'])}, {_duration(value['p90'])}"
    if value is None:
        return "not applicable"
    if kind == "share":
        return f"{value * 100:.1f} %"
    if kind == "hours":
        return f"{value:g} h"
    return f"{value:g}"


def figures(report: dict) -> list[dict[str, str]]:
    return [
        {
            "key": key,
            "label": label,
            "value": readable(kind, report[key]),
            "definition": service.DEFINITIONS[BREAKDOWN_DEFINITION if key in BREAKDOWNS else key],
        }
        for key, label, kind in FIGURES
    ]


def _team(session: Session, user) -> Team:
    require_role(user.principal, Role.SUPERVISOR)
    team = session.get(Team, user.principal.team_id) if user.principal.team_id else None
    if team is None:
        raise NotFound("Reports show one team; sign in as a member of the team.")
    return team


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    local = datetime.combine(day, time(0), zone)
    return local.replace(tzinfo=timezone(local.utcoffset() or timedelta(0)))


def _period(
    team: Team, values: dict[str, str], now: datetime
) -> tuple[datetime, datetime, dict[str, str]]:
    """The form's days (team-local, both included) as the service's period;
    errors as {field: why}. An empty field takes the service's default."""
    zone = ZoneInfo(team.timezone)
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name in ("start", "end"):
        try:
            days[name] = date.fromisoformat(values[name]) if values[name] else None
        except ValueError:
            errors[name] = "must be a date YYYY-MM-DD"
    if errors:
        start, end = service.local_period(team, None, None, now)
        return start, end, errors
    # At fixed offsets, as the API receives them: two datetimes sharing a
    # ZoneInfo subtract as wall-clock times, an hour off across a DST change.
    first, last = days["start"], days["end"]
    asked_start = _midnight(first, zone) if first else None
    asked_end = _midnight(last + timedelta(days=1), zone) if last else None
    try:
        start, end = service.checked_period(team, asked_start, asked_end, now)
    except Invalid as exc:
        for item in exc.detail:
            errors.setdefault(str(item["loc"][-1]), item["msg"])
        start, end = service.local_period(team, None, None, now)
    return start, end, errors


def _read(session: Session, user, team: Team, fmt: str) -> None:
    audit(
        session=session,
        principal=user.principal,
        action="report.read",
        record_type="team",
        record_id=team.id,
        team_id=team.id,
        detail={"format": fmt},
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    start: str = "",
    end: str = "",
):
    team = _team(session, user)
    values = {"start": start.strip()[:40], "end": end.strip()[:40]}
    period_start, period_end, errors = _period(team, values, now_of(request))
    if errors:
        return render(
            request,
            "console/reports.html",
            {"team": team, "values": values, "errors": errors, "report": None},
            status_code=422,
        )
    report = service.summary(session=session, team=team, start=period_start, end=period_end)
    data = service.chart_data(session=session, team=team, start=period_start, end=period_end)
    _read(session, user, team, "console")
    session.commit()
    zone = ZoneInfo(team.timezone)
    first, last = (
        period_start.astimezone(zone).date(),
        (period_end - timedelta(seconds=1)).astimezone(zone).date(),
    )
    shown = {"start": first.isoformat(), "end": last.isoformat()}
    return render(
        request,
        "console/reports.html",
        {
            "team": team,
            "values": shown,
            "errors": {},
            "report": report,
            "first": first,
            "last": last,
            "figures": figures(report),
            "charts": charts(data),
            "csv_query": f"start={shown['start']}&end={shown['end']}",
        },
    )


@router.get("/reports/summary.csv")
def reports_csv(
    request: Request, session: SessionDep, user: ConsoleUser, start: str = "", end: str = ""
):
    team = _team(session, user)
    values = {"start": start.strip()[:40], "end": end.strip()[:40]}
    period_start, period_end, errors = _period(team, values, now_of(request))
    if errors:
        name, why = next(iter(errors.items()))
        raise Invalid(["query", name], why)
    report = service.summary(session=session, team=team, start=period_start, end=period_end)
    _read(session, user, team, "csv")
    session.commit()
    filename = (
        f"summary-team{team.id}-{values['start'] or 'default'}-{values['end'] or 'default'}.csv"
    )
    return Response(
        service.summary_csv(report),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_safe(filename)}"'},
    )


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in name)
