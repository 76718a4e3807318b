"""Outcome reports per team and period, as JSON, CSV or an HTML page with charts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session

from app.auth.deps import CurrentPrincipal, SessionDep, load_team, require_role
from app.auth.models import Role
from app.auth.service import audit_row
from app.datetimes import Instant
from app.reports import service
from app.reports.charts import bar_chart
from app.reports.pages import templates
from app.runtime import runtime_of

router = APIRouter(prefix="/v1/reports", tags=["reports"])

_DOC = "Figures:\n\n" + "\n".join(f"- **{k}**: {v}" for k, v in service.DEFINITIONS.items())


@dataclass(frozen=True)
class _Asked:
    """The team and period a summary request names (query parameters)."""

    team_id: int
    start: Instant | None
    end: Instant | None


def _asked(team_id: int, start: Instant | None = None, end: Instant | None = None) -> _Asked:
    return _Asked(team_id=team_id, start=start, end=end)


Asked = Annotated[_Asked, Depends(_asked)]


def _format(format: Literal["json", "csv"] = "json") -> str:
    # A dependency too, so that the query parameters keep their order.
    return format


def _read_summary(request: Request, session: Session, principal, asked: _Asked, detail=None):
    """The team, its checked period and its summary; the read is audited and committed."""
    require_role(principal, Role.SUPERVISOR)
    team = load_team(session, principal, asked.team_id)
    start, end = service.checked_period(team, asked.start, asked.end, runtime_of(request).now())
    report = service.summary(session=session, team=team, start=start, end=end)
    audit_row(
        session, principal, "report.read", team, record_type="team", team_id=team.id, detail=detail
    )
    session.commit()
    return team, start, end, report


@router.get("/summary", description=_DOC)
def summary(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    asked: Asked,
    format: Annotated[str, Depends(_format)],
):
    team, start, end, report = _read_summary(request, session, principal, asked)
    if format == "csv":
        return Response(
            service.summary_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="summary-team{team.id}.csv"'},
        )
    return report


@router.get("/summary.html", response_class=Response)
def summary_page(
    request: Request, session: SessionDep, principal: CurrentPrincipal, asked: Asked
) -> Response:
    """The summary as a page with charts (inline SVG; prints and works offline)."""
    team, start, end, report = _read_summary(
        request, session, principal, asked, detail={"format": "html"}
    )
    data = service.chart_data(session=session, team=team, start=start, end=end)
    page = templates.get_template("reports/summary.html").render(
        team=team,
        start=start,
        end=end,
        charts=charts(data),
        figures=[
            (name, value)
            for name, value in service.flatten(report)
            if not name.startswith(("team_id", "timezone"))
        ],
    )
    return Response(page, media_type="text/html")


def charts(data: dict) -> list:
    """The report's three charts (the API's page and the console's)."""
    return [
        bar_chart("Contacts per week by outcome", data["weeks"], data["per_week"]),
        bar_chart("Time to acknowledge", data["ack_labels"], {"contacts": data["ack_hist"]}),
        bar_chart(
            "Hospital days per client-month",
            data["months"],
            {"hospital days": data["hospital_days_per_client_month"]},
        ),
    ]
