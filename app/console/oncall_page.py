"""On call: who each of the team's rotas has on call now and next, the
primary rota's coverage gaps in the next 14 days, forms to add an override
and leave, and the signed-in person's calendar link; a rota's page (its
week or month calendar, app/console/rota_page.py) links from here.

Everything goes through the API's schemas and services (OverrideIn and
app.oncall.service.add_override, LeaveCreate and app.teams.service.add_leave,
app.oncall.service.new_calendar_token), so a form refuses exactly what the
API refuses, with the same words, next to the field."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session, col

from app.auth.deps import SessionDep, check_team, require_role
from app.auth.models import Role
from app.console.web import ConsoleUser, CsrfChecked, now_of, redirect, render
from app.errors import Invalid, NotFound
from app.oncall import service
from app.oncall.models import Rota
from app.oncall.schemas import OverrideIn
from app.runtime import RuntimeDep
from app.teams import service as teams_service
from app.teams.models import Leave, Staff, Team
from app.teams.schemas import LeaveCreate

router = APIRouter(prefix="/console", include_in_schema=False)

FIELDS = ("staff_id", "start", "end", "reason")
DONE = {
    "override": "Override added.",
    "leave": "Leave added.",
}


def _team(session: Session, user) -> Team:
    team = session.get(Team, user.principal.team_id) if user.principal.team_id else None
    if team is None:
        raise NotFound("This page shows one team's rotas; sign in as a member of the team.")
    return team


def _context(session: Session, team: Team, now: datetime) -> dict:
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
            .where(col(Staff.team_id) == team.id, col(Staff.active).is_(True))
            .order_by(Staff.name)
        ).scalars()
    )
    gaps = service.team_coverage_gaps(
        session=session, team_id=team.id, start=now, end=now + service.GAP_HORIZON
    )
    leave = list(
        session.execute(
            select(Leave, col(Staff.name))
            .join(Staff, col(Staff.id) == col(Leave.staff_id))
            .where(col(Staff.team_id) == team.id, col(Leave.end) > now)
            .order_by(col(Leave.start), col(Leave.id))
        ).all()
    )
    return {
        "team": team,
        "rows": rows,
        "staff": staff,
        "names": {s.id: s.name for s in staff},
        "gaps": gaps,
        "leave": leave,
        "errors": {},
        "values": {},
        "form_rota": None,
        "form": None,
        "done": None,
        "calendar_url": None,
    }


@router.get("/oncall", response_class=HTMLResponse)
def oncall_page(request: Request, session: SessionDep, user: ConsoleUser, done: str | None = None):
    require_role(user.principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    context = _context(session, _team(session, user), now_of(request))
    context["done"] = DONE.get(done or "")
    return render(request, "console/oncall.html", context)


def form_errors(exc: ValidationError | Invalid, data: dict[str, Any]) -> dict[str, str]:
    """A schema's or a service's refusal as {field: why}, for showing next
    to each field (a field left empty reads "is required")."""
    errors: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for error in exc.errors():
            name = str(error["loc"][-1]) if error["loc"] else "form"
            missing = error["type"] == "missing" or data.get(name) is None
            errors.setdefault(name, "is required" if missing else error["msg"])
    else:
        for item in exc.detail:
            errors.setdefault(str(item["loc"][-1]), item["msg"])
    return errors


def _timed_form(values: dict[str, str], zone: str) -> dict[str, Any]:
    """staff_id/start/end/reason as typed, for the API's schema: empty is
    missing, local times are in `zone`."""
    return {
        "staff_id": values["staff_id"] or None,
        "start": _local_time(values["start"], zone) if values["start"] else None,
        "end": _local_time(values["end"], zone) if values["end"] else None,
        "reason": values["reason"] or None,
    }


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
    require_role(user.principal, Role.SUPERVISOR)
    rota = session.get(Rota, rota_id)
    if rota is None:
        raise NotFound("rota not found")
    check_team(user.principal, rota.team_id, what="rota")
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    data = _timed_form(values, rota.timezone)
    errors: dict[str, str] = {}
    try:
        body = OverrideIn.model_validate(data)
        service.add_override(
            session=session, principal=user.principal, rota=rota, **body.model_dump()
        )
    except (ValidationError, Invalid) as exc:
        errors = form_errors(exc, data)
    if errors:
        session.rollback()
        team = session.get_one(Team, rota.team_id)
        context = _context(session, team, now_of(request))
        context.update(errors=errors, values=values, form_rota=rota.id)
        return render(request, "console/oncall.html", context, status_code=422)
    session.commit()
    return redirect("/console/oncall?done=override", request)


@router.post("/oncall/leave", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def add_leave(request: Request, session: SessionDep, user: ConsoleUser):
    """Leave for one of the team's people, as POST /v1/staff/{id}/leave."""
    require_role(user.principal, Role.SUPERVISOR)
    team = _team(session, user)
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    data = _timed_form(values, team.timezone)
    staff_id = data.pop("staff_id")
    errors: dict[str, str] = {}
    staff = session.get(Staff, int(staff_id)) if staff_id and staff_id.isdigit() else None
    if staff is None or staff.team_id != team.id:
        errors["staff_id"] = "is required" if not staff_id else "is not a member of this team"
    try:
        body = LeaveCreate.model_validate(data)
        if staff is not None and not errors:
            teams_service.add_leave(
                session=session, principal=user.principal, staff=staff, **body.model_dump()
            )
    except (ValidationError, Invalid) as exc:
        errors = {**form_errors(exc, data), **errors}
    if errors:
        session.rollback()
        context = _context(session, _team(session, user), now_of(request))
        context.update(errors=errors, values=values, form="leave")
        return render(request, "console/oncall.html", context, status_code=422)
    session.commit()
    return redirect("/console/oncall?done=leave", request)


@router.post("/oncall/calendar-link", response_class=HTMLResponse, dependencies=[CsrfChecked])
def calendar_link(request: Request, runtime: RuntimeDep, session: SessionDep, user: ConsoleUser):
    """The signed-in person's calendar subscription link, as POST
    /v1/staff/{id}/calendar-token: a new one each time (the old one stops
    working), shown once since only its hash is kept."""
    require_role(user.principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    staff = session.get(Staff, user.principal.staff_id) if user.principal.staff_id else None
    if staff is None:
        raise NotFound("Only staff have a calendar; an admin key has no shifts.")
    check_team(user.principal, staff.team_id, what="staff member")
    token = service.new_calendar_token(session=session, principal=user.principal, staff=staff)
    session.commit()
    context = _context(session, _team(session, user), now_of(request))
    context["calendar_url"] = service.calendar_url(runtime.settings, token)
    return render(request, "console/oncall.html", context)
