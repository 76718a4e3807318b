"""The audit log, newest first, a page at a time: the same reader rule and
query as GET /v1/audit (supervisors see their own team, admins all)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.auth.deps import SessionDep, require_role
from app.auth.models import Role
from app.auth.service import audit_entries, audit_team_of
from app.console.web import ConsoleUser, render

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE_SIZE = 50


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    page: int = Query(default=1, ge=1, le=100_000),
):
    require_role(user.principal, Role.SUPERVISOR)
    team_id = audit_team_of(user.principal, None)
    # One row more than a page says whether there is a next page.
    rows = audit_entries(
        session=session, team_id=team_id, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "console/audit.html",
        {"rows": rows[:PAGE_SIZE], "page": page, "has_next": len(rows) > PAGE_SIZE},
    )
