"""Teams (admins create), staff, working hours and leave (supervisors manage)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlmodel import Session, col

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
from app.errors import refuse_nulls
from app.paging import Page
from app.runtime import RuntimeDep
from app.teams import service, staff_changes
from app.teams.models import Leave, Staff, Team
from app.teams.schemas import (
    LeaveCreate,
    LeavePublic,
    StaffCreate,
    StaffPublic,
    StaffUpdate,
    TeamCreate,
    TeamPublic,
    TeamUpdate,
)

router = APIRouter(prefix="/v1", tags=["teams"])


def _staff(session: Session, principal, staff_id: int) -> Staff:
    return load_owned(session, principal, Staff, staff_id, what="staff member")


@router.post("/teams", status_code=201, response_model=TeamPublic)
def create_team(body: TeamCreate, session: SessionDep, principal: CurrentPrincipal) -> TeamPublic:
    require_role(principal, Role.ADMIN)
    team = service.create_team(session=session, data=body.model_dump())
    audit_row(session, principal, "team.create", team, team_id=team.id)
    session.commit()
    return TeamPublic.model_validate(team, from_attributes=True)


@router.get("/teams", response_model=list[TeamPublic])
def list_teams(session: SessionDep, principal: CurrentPrincipal) -> list[TeamPublic]:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    query = select(Team).order_by(col(Team.id))
    if not principal.is_admin:
        query = query.where(col(Team.id) == principal.team_id)
    return [
        TeamPublic.model_validate(t, from_attributes=True) for t in session.execute(query).scalars()
    ]


@router.get("/teams/{team_id}", response_model=TeamPublic)
def get_team(team_id: int, session: SessionDep, principal: CurrentPrincipal) -> TeamPublic:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    return TeamPublic.model_validate(load_team(session, principal, team_id), from_attributes=True)


@router.patch("/teams/{team_id}", response_model=TeamPublic)
def update_team(
    team_id: int, body: TeamUpdate, session: SessionDep, principal: CurrentPrincipal
) -> TeamPublic:
    require_role(principal, Role.SUPERVISOR)
    team = load_team(session, principal, team_id)
    service.update_team(
        session=session,
        team=team,
        data=refuse_nulls(
            body.model_dump(exclude_unset=True),
            nullable=frozenset({"escalation_policy", "priority_notify_minimum"}),
        ),
    )
    audit_row(
        session,
        principal,
        "team.update",
        team,
        team_id=team.id,
        detail={"fields": sorted(body.model_dump(exclude_unset=True))},
    )
    session.commit()
    return TeamPublic.model_validate(team, from_attributes=True)


@router.post("/teams/{team_id}/staff", status_code=201, response_model=StaffPublic)
def create_staff(
    team_id: int, body: StaffCreate, session: SessionDep, principal: CurrentPrincipal
) -> StaffPublic:
    require_role(principal, Role.SUPERVISOR)
    team = load_team(session, principal, team_id)
    staff = staff_changes.add_staff(
        session=session, principal=principal, team=team, data=body.model_dump()
    )
    session.commit()
    return StaffPublic.model_validate(staff, from_attributes=True)


@router.get("/teams/{team_id}/staff", response_model=list[StaffPublic])
def list_staff(
    team_id: int, session: SessionDep, principal: CurrentPrincipal, paging: Page
) -> list[StaffPublic]:
    """The team's staff by id, a page at a time."""
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    load_team(session, principal, team_id)
    rows = list(
        session.execute(
            select(Staff)
            .where(col(Staff.team_id) == team_id)
            .order_by(col(Staff.id))
            .offset(paging.offset)
            .limit(paging.limit + 1)
        ).scalars()
    )
    return [StaffPublic.model_validate(s, from_attributes=True) for s in paging.of(rows)]


@router.get("/staff/{staff_id}", response_model=StaffPublic)
def get_staff(staff_id: int, session: SessionDep, principal: CurrentPrincipal) -> StaffPublic:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    return StaffPublic.model_validate(_staff(session, principal, staff_id), from_attributes=True)


@router.patch("/staff/{staff_id}", response_model=StaffPublic)
def update_staff(
    staff_id: int,
    body: StaffUpdate,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> StaffPublic:
    """Edit a staff member; `active: false` is refused (409) while they still
    hold clients, rota places or future overrides, listing what must move.
    A person may set their own `notify_rules` with a key bound to them."""
    data = refuse_nulls(body.model_dump(exclude_unset=True))
    if not staff_changes.may_edit_alone(principal, staff_id, data):
        require_role(principal, Role.SUPERVISOR)
    staff = _staff(session, principal, staff_id)
    staff_changes.change_staff(
        session=session,
        principal=principal,
        staff=staff,
        data=data,
        now=runtime.now(),
        settings=runtime.settings,
    )
    session.commit()
    return StaffPublic.model_validate(staff, from_attributes=True)


@router.post("/staff/{staff_id}/leave", status_code=201, response_model=LeavePublic)
def add_leave(
    staff_id: int, body: LeaveCreate, session: SessionDep, principal: CurrentPrincipal
) -> LeavePublic:
    """A leave period: the person is not routed to as assigned/backup case
    manager, rota on-call or supervisor while it lasts."""
    require_role(principal, Role.SUPERVISOR)
    staff = _staff(session, principal, staff_id)
    leave = service.add_leave(
        session=session, principal=principal, staff=staff, **body.model_dump()
    )
    session.commit()
    return LeavePublic.model_validate(leave, from_attributes=True)


@router.get("/staff/{staff_id}/leave", response_model=list[LeavePublic])
def list_leave(
    staff_id: int, session: SessionDep, principal: CurrentPrincipal
) -> list[LeavePublic]:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    staff = _staff(session, principal, staff_id)
    rows = session.execute(
        select(Leave).where(col(Leave.staff_id) == staff.id).order_by(col(Leave.start))
    ).scalars()
    return [LeavePublic.model_validate(r, from_attributes=True) for r in rows]


@router.delete("/staff/{staff_id}/leave/{leave_id}", status_code=204, response_class=Response)
def delete_leave(
    staff_id: int, leave_id: int, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    require_role(principal, Role.SUPERVISOR)
    staff = _staff(session, principal, staff_id)
    leave = load_child(session, Leave, leave_id, parent=("staff_id", staff.id), what="leave")
    return delete_audited(session, principal, leave, record_type="leave", team_id=staff.team_id)
