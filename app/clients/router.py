"""Clients, their phones and crisis plans; the plan page for on-call phones."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response
from sqlmodel import Session

from app.auth import access
from app.auth.deps import CurrentPrincipal, SessionDep, load_owned, load_team, require_role
from app.auth.models import Role
from app.auth.service import Principal, audit_row
from app.clients import plan_links, service
from app.clients.models import Client
from app.clients.schemas import (
    BreakGlassIn,
    ClientCreate,
    ClientPublic,
    ClientUpdate,
    CrisisPlanIn,
    CrisisPlanOut,
    PhoneOut,
    PlanLinkOut,
)
from app.errors import NotFound, refuse_nulls
from app.paging import Page
from app.runtime import RuntimeDep

router = APIRouter(tags=["clients"])


def _client(session: Session, principal, client_id: int) -> Client:
    """For writes (supervisors): any client of the caller's team."""
    return load_owned(session, principal, Client, client_id, what="client")


def _readable(session: Session, principal, client_id: int) -> Client:
    """For reads: what app.auth.access lets this caller see."""
    return access.readable_client(session, principal, client_id)


def _out(session: Session, client: Client) -> ClientPublic:
    return ClientPublic(
        id=client.id,
        team_id=client.team_id,
        preferred_name=client.preferred_name,
        status=client.status,
        assigned_case_manager_id=client.assigned_case_manager_id,
        backup_case_manager_id=client.backup_case_manager_id,
        language=client.language,
        created_at=client.created_at,
        phones=[
            PhoneOut.model_validate(p) for p in service.phones_out(session=session, client=client)
        ],
    )


@router.post("/v1/teams/{team_id}/clients", status_code=201, response_model=ClientPublic)
def create_client(
    team_id: int, body: ClientCreate, session: SessionDep, principal: CurrentPrincipal
) -> ClientPublic:
    """A client with their own and family/guardian phones. 409 when the assigned
    case manager is at the team's caseload limit, or a phone is a staff phone."""
    require_role(principal, Role.SUPERVISOR)
    team = load_team(session, principal, team_id)
    client = service.add_client(
        session=session, principal=principal, team=team, data=body.model_dump()
    )
    session.commit()
    return _out(session, client)


@router.get("/v1/teams/{team_id}/clients", response_model=list[ClientPublic])
def list_clients(
    team_id: int, session: SessionDep, principal: CurrentPrincipal, paging: Page
) -> list[ClientPublic]:
    """The team's clients by id (a case manager: their own), a page at a time."""
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    load_team(session, principal, team_id)
    rows = service.clients_of(
        session=session,
        team_id=team_id,
        where=access.client_filter(principal),
        limit=paging.limit + 1,
        offset=paging.offset,
    )
    return [_out(session, c) for c in paging.of(rows)]


@router.get("/v1/clients/{client_id}", response_model=ClientPublic)
def get_client(client_id: int, session: SessionDep, principal: CurrentPrincipal) -> ClientPublic:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    return _out(session, _readable(session, principal, client_id))


@router.patch("/v1/clients/{client_id}", response_model=ClientPublic)
def update_client(
    client_id: int,
    body: ClientUpdate,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> ClientPublic:
    require_role(principal, Role.SUPERVISOR)
    client = _client(session, principal, client_id)
    data = refuse_nulls(
        body.model_dump(exclude_unset=True),
        nullable=frozenset({"assigned_case_manager_id", "backup_case_manager_id", "language"}),
    )
    service.change_client(
        session=session,
        principal=principal,
        client=client,
        data=data,
        now=runtime.now(),
    )
    session.commit()
    return _out(session, client)


@router.put("/v1/clients/{client_id}/crisis-plan", response_model=CrisisPlanOut)
def put_crisis_plan(
    client_id: int, body: CrisisPlanIn, session: SessionDep, principal: CurrentPrincipal
) -> dict:
    """A new version of the client's safety plan (Stanley–Brown sections). Old versions are kept."""
    require_role(principal, Role.SUPERVISOR)
    client = _client(session, principal, client_id)
    plan = service.write_plan(
        session=session, principal=principal, client=client, data=body.model_dump()
    )
    session.commit()
    return service.plan_out(plan)


def _read_plan(session: Session, principal: Principal, client: Client, plan, via: str) -> None:
    service.audit_plan_read(session=session, principal=principal, client=client, plan=plan, via=via)


def _current_plan(session: Session, principal: Principal, client: Client, via: str) -> dict:
    """The client's current plan; the read is audited and committed even when
    there is none yet (404)."""
    plan = service.current_plan(session=session, client_id=client.id)
    _read_plan(session, principal, client, plan, via)
    session.commit()
    if plan is None:
        raise NotFound("this client has no crisis plan yet")
    return service.plan_out(plan)


@router.get("/v1/clients/{client_id}/crisis-plan", response_model=CrisisPlanOut)
def get_crisis_plan(client_id: int, session: SessionDep, principal: CurrentPrincipal) -> dict:
    """The current version. Every read is audited."""
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    return _current_plan(session, principal, _readable(session, principal, client_id), "api")


@router.get("/v1/clients/{client_id}/crisis-plan/versions", response_model=list[CrisisPlanOut])
def crisis_plan_versions(
    client_id: int, session: SessionDep, principal: CurrentPrincipal
) -> list[dict]:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    client = _readable(session, principal, client_id)
    plans = service.plan_versions(session=session, client_id=client.id)
    _read_plan(session, principal, client, plans[-1] if plans else None, "versions")
    session.commit()
    return [service.plan_out(p) for p in plans]


@router.post("/v1/clients/{client_id}/crisis-plan/break-glass", response_model=CrisisPlanOut)
def break_glass_crisis_plan(
    client_id: int,
    body: BreakGlassIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> dict:
    """Read a plan outside your caseload in an emergency. The reason is
    required and audited, and the team's supervisors are texted at once."""
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    client = access.break_glass_read(
        session=session,
        principal=principal,
        model=Client,
        record_id=client_id,
        reason=body.reason,
        now=runtime.now(),
    )
    return _current_plan(session, principal, client, "break_glass")


@router.post("/v1/clients/{client_id}/plan-links", status_code=201, response_model=PlanLinkOut)
def create_plan_link(
    client_id: int, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
) -> PlanLinkOut:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    client = _readable(session, principal, client_id)
    now = runtime.now()
    url = plan_links.create_plan_link(
        session=session,
        client_id=client.id,
        staff_id=principal.staff_id,
        contact_id=None,
        now=now,
        settings=runtime.settings,
    )
    audit_row(
        session, principal, "plan_link.create", client, record_type="client", team_id=client.team_id
    )
    session.commit()

    return PlanLinkOut(url=url, expires_at=now + timedelta(hours=runtime.settings.plan_link_hours))


@router.post("/v1/clients/{client_id}/plan-links/revoke", status_code=204, response_class=Response)
def revoke_plan_links(
    client_id: int, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    require_role(principal, Role.SUPERVISOR)
    client = _client(session, principal, client_id)
    count = plan_links.revoke_plan_links(session=session, client_id=client.id, now=runtime.now())
    audit_row(
        session,
        principal,
        "plan_link.revoke",
        client,
        record_type="client",
        team_id=client.team_id,
        detail={"revoked": count},
    )
    session.commit()
    return Response(status_code=204)
