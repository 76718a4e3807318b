"""On call: who each of the team's rotas has on call now and next, the
primary rota's coverage gaps in the next 14 days, and a form to add an
override. Everything goes through app.oncall.service and the API's schema
(OverrideIn), as GET /v1/teams/{id}/oncall and POST /v1/rotas/{id}/overrides do."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select

from app.auth.deps import SessionDep, check_team, require_role
from app.console.web import ConsoleUser, CsrfChecked, now_of, redirect, render
from app.errors import Invalid, NotFound
from app.oncall import service
from app.oncall.models import Rota
from app.oncall.schemas import OverrideIn
from app.teams.models import Staff, Team

router = APIRouter(prefix="/console", include_in_schema=False)

FIELDS = ("staff_id", "start", "end", "reason")


def _team(session, user) -> Team:
    team = session.get(Team, user.principal.team_id) if user.principal.team_id else None
    if team is None:
        raise NotFound("This page shows one team's rotas; sign in as a member of the team.")
    return team


def _context(session, team: Team, now: datetime) -> dict:
    rows = []
    for rota in service.team_rotas(session=session, team_id=team.id):
        current = service.rota_on_call(session=session, rota=rota, at=now)
        following = (
            service.rota_on_call(session=session, rota=rota, at=current.until)
            if current.until is not None
            else None
        )
        rows.append({"rota": rota, "now": current, "next": following})
    staff = list(
        session.execute(
            select(Staff)
            .where(Staff.team_id == team.id, Staff.active.is_(True))
            .order_by(Staff.name)
        ).scalars()
    )
    gaps = service.team_coverage_gaps(
        session=session, team_id=team.id, start=now, end=now + service.GAP_HORIZON
    )
    return {
        "team": team,
        "rows": rows,
        "staff": staff,
        "names": {s.id: s.name for s in staff},
        "gaps": gaps,
        "errors": {},
        "values": {},
        "form_rota": None,
        "done": False,
    }


@router.get("/oncall", response_class=HTMLResponse)
def oncall_page(request: Request, session: SessionDep, user: ConsoleUser, done: str | None = None):
    require_role(user.principal, "supervisor", "case_manager")
    context = _context(session, _team(session, user), now_of(request))
    context["done"] = done == "override"
    return render(request, "console/oncall.html", context)


def _local_time(text: str, zone: str) -> datetime | str:
    """A datetime-local field's value in the rota's time zone; anything else
    is left for the schema to refuse by name."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))


@router.post(
    "/oncall/rotas/{rota_id}/overrides", response_class=HTMLResponse, dependencies=[CsrfChecked]
)
async def add_override(rota_id: int, request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, "supervisor")
    rota = session.get(Rota, rota_id)
    if rota is None:
        raise NotFound("rota not found")
    check_team(user.principal, rota.team_id, what="rota")
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    data: dict = {
        "staff_id": values["staff_id"] or None,
        "start": _local_time(values["start"], rota.timezone) if values["start"] else None,
        "end": _local_time(values["end"], rota.timezone) if values["end"] else None,
        "reason": values["reason"] or None,
    }
    errors: dict[str, str] = {}
    try:
        body = OverrideIn.model_validate(data)
        service.add_override(
            session=session,
            principal=user.principal,
            rota=rota,
            staff_id=body.staff_id,
            start=body.start,
            end=body.end,
            reason=body.reason,
        )
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][-1]) if error["loc"] else "form"
            missing = error["type"] == "missing" or data.get(name) is None
            errors.setdefault(name, "is required" if missing else error["msg"])
    except Invalid as exc:
        for item in exc.detail:
            errors.setdefault(str(item["loc"][-1]), item["msg"])
    if errors:
        session.rollback()
        team = session.get(Team, rota.team_id)
        context = _context(session, team, now_of(request))
        context.update(errors=errors, values=values, form_rota=rota.id)
        return render(request, "console/oncall.html", context, status_code=422)
    session.commit()
    return redirect("/console/oncall?done=override", request)
