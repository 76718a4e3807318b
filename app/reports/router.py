"""Outcome reports per team and period, as JSON, CSV or an HTML page with charts."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request, Response

from app.auth.deps import CurrentPrincipal, SessionDep, check_team, require_role
from app.auth.service import audit
from app.errors import Invalid, NotFound
from app.reports import service
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
def summary(request: Request, session: SessionDep, principal: CurrentPrincipal, team_id: int,
            start: datetime | None = None, end: datetime | None = None,
            format: Literal["json", "csv"] = "json"):
    team, start, end = _inputs(request, session, principal, team_id, start, end)
    report = service.summary(session=session, team=team, start=start, end=end)
    audit(session=session, principal=principal, action="report.read", record_type="team", record_id=team.id,
          team_id=team.id)
    session.commit()
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["metric", "value"])
        writer.writerows(service.flatten(report))
        return Response(out.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="summary-team{team.id}.csv"'})
    return report
