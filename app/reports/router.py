"""Outcome reports per team and period, as JSON, CSV or an HTML page with charts."""

from __future__ import annotations

import csv
import io
from typing import Literal

from fastapi import APIRouter, Request, Response

from app.auth.deps import CurrentPrincipal, SessionDep, check_team, require_role
from app.auth.service import audit
from app.datetimes import Instant
from app.errors import Invalid, NotFound
from app.reports import service
from app.spreadsheets import escape_row
from app.teams.models import Team

router = APIRouter(prefix="/v1/reports", tags=["reports"])

_DOC = "Figures:\n\n" + "\n".join(f"- **{k}**: {v}" for k, v in service.DEFINITIONS.items())


def _inputs(request: Request, session, principal, team_id: int, start, end):
    require_role(principal, "supervisor")
    check_team(principal, team_id, what="team")
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("team not found")
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise Invalid(["query", name], "must include a UTC offset")
    start, end = service.local_period(team, start, end, request.app.state.runtime.now())
    if end <= start:
        raise Invalid(["query", "end"], "must be after start")
    if (end - start).days > 731:
        raise Invalid(["query", "end"], "a report may span at most two years")
    return team, start, end


@router.get("/summary", description=_DOC)
def summary(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    team_id: int,
    start: Instant | None = None,
    end: Instant | None = None,
    format: Literal["json", "csv"] = "json",
):
    team, start, end = _inputs(request, session, principal, team_id, start, end)
    report = service.summary(session=session, team=team, start=start, end=end)
    audit(
        session=session,
        principal=principal,
        action="report.read",
        record_type="team",
        record_id=team.id,
        team_id=team.id,
    )
    session.commit()
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["metric", "value"])
        writer.writerows(escape_row(list(row)) for row in service.flatten(report))
        return Response(
            out.getvalue(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="summary-team{team.id}.csv"'},
        )
    return report


@router.get("/summary.html", response_class=Response)
def summary_page(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    team_id: int,
    start: Instant | None = None,
    end: Instant | None = None,
) -> Response:
    """The summary as a page with charts (inline SVG; prints and works offline)."""
    from html import escape

    from app.reports.charts import bar_chart

    team, start, end = _inputs(request, session, principal, team_id, start, end)
    report = service.summary(session=session, team=team, start=start, end=end)
    data = service.chart_data(session=session, team=team, start=start, end=end)
    audit(
        session=session,
        principal=principal,
        action="report.read",
        record_type="team",
        record_id=team.id,
        team_id=team.id,
        detail={"format": "html"},
    )
    session.commit()
    figures = "".join(
        f"<tr><th>{escape(name)}</th><td>{escape('' if value is None else str(value))}</td></tr>"
        for name, value in service.flatten(report)
        if not name.startswith(("team_id", "timezone"))
    )
    charts = [
        bar_chart("Contacts per week by outcome", data["weeks"], data["per_week"]),
        bar_chart("Time to acknowledge", data["ack_labels"], {"contacts": data["ack_hist"]}),
        bar_chart(
            "Hospital days per client-month",
            data["months"],
            {"hospital days": data["hospital_days_per_client_month"]},
        ),
    ]
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(team.name)}: crisis line report</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5rem;max-width:980px;color:#1a202c}}
.charts{{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1rem}}
.chart{{width:100%;height:auto;border:1px solid #e2e8f0;border-radius:6px;background:#fff}}
table{{border-collapse:collapse;margin-top:1rem}}th,td{{text-align:left;padding:2px 10px;border-bottom:1px solid #edf2f7;font-size:13px}}</style>
</head><body><h1>{escape(team.name)}</h1>
<p>{escape(start.isoformat())} to {escape(end.isoformat())} ({escape(team.timezone)})</p>
<div class="charts">{"".join(charts)}</div><table>{figures}</table></body></html>"""
    return Response(page, media_type="text/html")
