"""Rotas, overrides, who is on call, schedules and coverage (the calendar feeds
are in app.oncall.calendar_router).

Supervisors edit their team's rotas; case managers read; admins do all.
Another team's rota answers 404. A create or update that leaves a hole in the
primary rota in the next 14 days is refused (409, listing the holes) unless
the request says allow_gaps=true: a 24/7 line must not publish gaps by accident.
Deleting or demoting the primary rota is refused the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session

from app.auth.deps import (
    CurrentPrincipal,
    SessionDep,
    delete_audited,
    load_child,
    load_owned,
    load_team,
    require_role,
)
from app.auth.models import Role
from app.auth.service import audit_row
from app.datetimes import Instant
from app.errors import Conflict, Invalid
from app.oncall import service
from app.oncall.models import Rota, RotaOverride
from app.oncall.schemas import (
    CoverageOut,
    GapOut,
    OnCallOut,
    OverrideId,
    OverrideIn,
    OverrideOut,
    RotaId,
    RotaIn,
    RotaOut,
    ShiftOut,
    StaffRef,
    TeamId,
)
from app.runtime import runtime_of
from app.teams.models import Staff, Team

router = APIRouter(tags=["on-call"])
MAX_WINDOW = timedelta(days=400)


def _now(request: Request) -> datetime:
    return runtime_of(request).now()


def _or_default(value: datetime | None, default: datetime) -> datetime:
    # Instants are already aware and bounded (app.datetimes.Instant).
    return default if value is None else value


@dataclass(frozen=True)
class _AskedWindow:
    """The `start` and `end` query parameters of a calendar read, as sent,
    and the time the request came."""

    start: datetime | None
    end: datetime | None
    now: datetime


def _asked_window(
    request: Request, start: Instant | None = None, end: Instant | None = None
) -> _AskedWindow:
    return _AskedWindow(start=start, end=end, now=_now(request))


AskedWindow = Annotated[_AskedWindow, Depends(_asked_window)]


def _window(asked: _AskedWindow, default_days: int) -> tuple[datetime, datetime]:
    start = _or_default(asked.start, asked.now)
    end = _or_default(asked.end, start + timedelta(days=default_days))
    if end <= start:
        raise Invalid(["query", "end"], "must be after start")
    if end - start > MAX_WINDOW:
        raise Invalid(["query", "end"], "the window may span at most 400 days")
    return start, end


Now = Annotated[datetime, Depends(_now)]


@dataclass(frozen=True)
class _RotaAsked:
    """A rota sent to be created or replaced, and whether it may leave gaps
    (the query parameter or the body's field)."""

    body: RotaIn
    allow_gaps: bool


def _rota_asked(body: RotaIn, allow_gaps: bool = False) -> _RotaAsked:
    return _RotaAsked(body=body, allow_gaps=allow_gaps or body.allow_gaps)


# After the principal, so a missing key is still 401 first.
RotaAsked = Annotated[_RotaAsked, Depends(_rota_asked)]


def _rota(session: Session, principal, rota_id: int) -> Rota:
    return load_owned(session, principal, Rota, rota_id, what="rota")


def _out(rota: Rota) -> RotaOut:
    return RotaOut.model_validate(rota, from_attributes=True)


@router.post("/v1/teams/{team_id}/rotas", status_code=201, response_model=RotaOut)
def create_rota(
    team_id: TeamId, now: Now, session: SessionDep, principal: CurrentPrincipal, asked: RotaAsked
) -> RotaOut:
    require_role(principal, Role.SUPERVISOR)
    load_team(session, principal, team_id)
    body, allow_gaps = asked.body, asked.allow_gaps
    data = body.model_dump()
    schedule = service.build_schedule(session=session, team_id=team_id, data=data)
    service.check_priority_free(session, team_id, body.priority, None)
    service.refuse_gaps(schedule, body.priority, now, allow_gaps)
    rota = Rota(
        team_id=team_id,
        name=body.name,
        priority=body.priority,
        timezone=body.timezone,
        layers=data["layers"],
        created_at=now,
        updated_at=now,
    )
    service.flush_rota(session, rota)
    audit_row(
        session, principal, "rota.create", rota, team_id=team_id, detail={"allow_gaps": allow_gaps}
    )
    session.commit()
    return _out(rota)


@router.get("/v1/teams/{team_id}/rotas", response_model=list[RotaOut])
def list_rotas(team_id: TeamId, session: SessionDep, principal: CurrentPrincipal) -> list[RotaOut]:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    load_team(session, principal, team_id)
    return [_out(r) for r in service.team_rotas(session=session, team_id=team_id)]


@router.get("/v1/rotas/{rota_id}", response_model=RotaOut)
def get_rota(rota_id: RotaId, session: SessionDep, principal: CurrentPrincipal) -> RotaOut:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    return _out(_rota(session, principal, rota_id))


@router.put("/v1/rotas/{rota_id}", response_model=RotaOut)
def replace_rota(
    rota_id: RotaId, now: Now, session: SessionDep, principal: CurrentPrincipal, asked: RotaAsked
) -> RotaOut:
    require_role(principal, Role.SUPERVISOR)
    rota = _rota(session, principal, rota_id)
    service.replace_rota(
        session=session,
        principal=principal,
        rota=rota,
        body=asked.body,
        now=now,
        allow_gaps=asked.allow_gaps,
    )
    session.commit()
    return _out(rota)


@router.delete("/v1/rotas/{rota_id}", status_code=204, response_class=Response)
def delete_rota(
    rota_id: RotaId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    allow_gaps: bool = False,
) -> Response:
    """Delete a rota and its overrides; the primary only with allow_gaps=true."""
    require_role(principal, Role.SUPERVISOR)
    rota = _rota(session, principal, rota_id)
    levels = service.policy_levels_naming(session.get_one(Team, rota.team_id), rota.id)
    if levels:
        raise Conflict(
            f"the team's escalation policy names this rota (levels {', '.join(str(i + 1) for i in levels)}); "
            "change the policy first"
        )
    service.refuse_losing_primary(rota, _now(request), allow_gaps, "deleting the primary rota")
    service.delete_rota(session=session, rota=rota)
    audit_row(
        session,
        principal,
        "rota.delete",
        rota,
        team_id=rota.team_id,
        detail={"allow_gaps": allow_gaps},
    )
    session.commit()
    return Response(status_code=204)


@router.post("/v1/rotas/{rota_id}/overrides", status_code=201, response_model=OverrideOut)
def create_override(
    rota_id: RotaId, body: OverrideIn, session: SessionDep, principal: CurrentPrincipal
) -> OverrideOut:
    require_role(principal, Role.SUPERVISOR)
    rota = _rota(session, principal, rota_id)
    override = service.add_override(
        session=session, principal=principal, rota=rota, **body.model_dump()
    )
    session.commit()
    return OverrideOut.model_validate(override, from_attributes=True)


@router.get("/v1/rotas/{rota_id}/overrides", response_model=list[OverrideOut])
def list_overrides(
    rota_id: RotaId, session: SessionDep, principal: CurrentPrincipal, asked: AskedWindow
) -> list[OverrideOut]:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    rota = _rota(session, principal, rota_id)
    start, end = _window(asked, 60)
    rows = service.overrides_between(session=session, rota_id=rota.id, start=start, end=end)
    return [OverrideOut.model_validate(o, from_attributes=True) for o in rows]


@router.delete(
    "/v1/rotas/{rota_id}/overrides/{override_id}", status_code=204, response_class=Response
)
def delete_override(
    rota_id: RotaId, override_id: OverrideId, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    require_role(principal, Role.SUPERVISOR)
    rota = _rota(session, principal, rota_id)
    override = load_child(
        session, RotaOverride, override_id, parent=("rota_id", rota.id), what="override"
    )
    return delete_audited(
        session, principal, override, record_type="rota_override", team_id=rota.team_id
    )


def _oncall_out(session: Session, snapshot: service.RotaOnCall) -> OnCallOut:
    staff = session.get(Staff, snapshot.staff_id) if snapshot.staff_id is not None else None
    return OnCallOut(
        rota_id=snapshot.rota_id,
        rota_name=snapshot.rota_name,
        priority=snapshot.priority,
        staff=StaffRef(id=staff.id, name=staff.name, languages_spoken=staff.languages_spoken)
        if staff
        else None,
        source=snapshot.source,
        until=snapshot.until,
    )


@router.get("/v1/rotas/{rota_id}/oncall", response_model=OnCallOut)
def rota_oncall(
    rota_id: RotaId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    at: Instant | None = None,
) -> OnCallOut:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    rota = _rota(session, principal, rota_id)
    at = _or_default(at, _now(request))
    return _oncall_out(session, service.rota_on_call(session=session, rota=rota, at=at))


@router.get("/v1/teams/{team_id}/oncall", response_model=list[OnCallOut])
def team_oncall(
    team_id: TeamId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    at: Instant | None = None,
) -> list[OnCallOut]:
    """Who each of the team's rotas has on call, in priority order."""
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    load_team(session, principal, team_id)
    at = _or_default(at, _now(request))
    return [
        _oncall_out(session, s)
        for s in service.oncall_snapshot(session=session, team_id=team_id, at=at)
    ]


@router.get("/v1/rotas/{rota_id}/schedule", response_model=list[ShiftOut])
def rota_schedule(
    rota_id: RotaId, session: SessionDep, principal: CurrentPrincipal, asked: AskedWindow
) -> list[ShiftOut]:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    rota = _rota(session, principal, rota_id)
    start, end = _window(asked, 14)
    shifts = service.shifts(session=session, rota=rota, start=start, end=end)
    # The app's rotas list staff ids as their people.
    return [
        ShiftOut(start=s.start, end=s.end, staff_id=cast(int, s.person), source=s.source)
        for s in shifts
    ]


@router.get("/v1/teams/{team_id}/coverage", response_model=CoverageOut)
def team_coverage(
    team_id: TeamId, session: SessionDep, principal: CurrentPrincipal, asked: AskedWindow
) -> CoverageOut:
    """Holes in the primary rota: every interval where nobody is on call."""
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    load_team(session, principal, team_id)
    start, end = _window(asked, 14)
    holes = service.team_coverage_gaps(session=session, team_id=team_id, start=start, end=end)
    return CoverageOut(
        start=start,
        end=end,
        gaps=[GapOut(start=a, end=b, rota_id=r) for a, b, r in holes],
        gap_hours=round(sum((b - a).total_seconds() for a, b, _ in holes) / 3600, 2),
    )
