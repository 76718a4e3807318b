"""API keys over HTTP (the first admin key comes from `crisisroute keys create`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.auth.deps import CurrentPrincipal, SessionDep, load_team, require_role
from app.auth.models import ApiKey, Role
from app.auth.service import (
    Principal,
    audit_entries,
    audit_row,
    audit_team_of,
    create_key,
    list_keys,
    revoke_key,
)
from app.datetimes import Instant
from app.errors import Forbidden, Invalid, NotFound
from app.paging import LongPage, Page
from app.runtime import RuntimeDep
from app.teams.models import Staff

router = APIRouter(prefix="/v1", tags=["auth"])


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern="^(admin|supervisor|case_manager)$")
    team_id: int | None = None
    staff_id: int | None = None
    expires_at: Instant | None = Field(
        default=None, description="the key stops working at this instant (with a UTC offset)"
    )


class KeyCreated(BaseModel):
    id: int
    key: str
    name: str
    role: str
    team_id: int | None
    staff_id: int | None
    expires_at: datetime | None


class KeyPublic(BaseModel):
    """What is known about a key: never the key, nor its hash."""

    id: int
    name: str
    role: str
    team_id: int | None
    staff_id: int | None
    prefix: str = Field(description="the key's first characters, to tell keys apart")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="accurate to about a minute")


def _check_key_scope(session: Session, principal: Principal, body: KeyCreate) -> None:
    if body.role == Role.ADMIN and not principal.is_admin:
        raise Forbidden("only an admin may create admin keys")
    if body.role != Role.ADMIN and body.team_id is None:
        raise Invalid("team_id", f"a {body.role} key must be scoped to a team")
    if body.team_id is not None:
        load_team(session, principal, body.team_id)
    if body.role == Role.CASE_MANAGER and body.staff_id is None:
        raise Invalid("staff_id", "a case_manager key must be bound to a staff member")
    if body.staff_id is not None:
        staff = session.get(Staff, body.staff_id)
        if staff is None or staff.team_id != body.team_id:
            raise Invalid("staff_id", "no such staff member in that team")
        if not staff.active:
            raise Invalid("staff_id", "this staff member is deactivated")


@router.post("/keys", status_code=201, response_model=KeyCreated)
def create_api_key(
    body: KeyCreate, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
) -> KeyCreated:
    """Create an API key. The key is in this response only; it is stored hashed."""
    require_role(principal, Role.SUPERVISOR)
    _check_key_scope(session, principal, body)
    if body.expires_at is not None:
        if body.expires_at.tzinfo is None:
            raise Invalid("expires_at", "must include a UTC offset")
        if body.expires_at <= runtime.now():
            raise Invalid("expires_at", "must be in the future")
    row, key = create_key(
        session=session,
        name=body.name,
        role=body.role,
        team_id=body.team_id,
        staff_id=body.staff_id,
        expires_at=body.expires_at,
    )
    audit_row(
        session, principal, "api_key.create", row, team_id=body.team_id, detail={"role": body.role}
    )
    session.commit()
    return KeyCreated(
        id=row.id,
        key=key,
        name=row.name,
        role=row.role,
        team_id=row.team_id,
        staff_id=row.staff_id,
        expires_at=row.expires_at,
    )


@router.get("/keys", response_model=list[KeyPublic])
def get_api_keys(session: SessionDep, principal: CurrentPrincipal, paging: Page) -> list[KeyPublic]:
    """Every key of the caller's team (an admin: every key), revoked ones too."""
    require_role(principal, Role.SUPERVISOR)
    rows = list_keys(
        session=session,
        team_id=None if principal.is_admin else principal.team_id,
        limit=paging.limit + 1,
        offset=paging.offset,
    )
    return [KeyPublic.model_validate(r, from_attributes=True) for r in paging.of(rows)]


@router.delete("/keys/{key_id}", status_code=204, response_class=Response)
def delete_api_key(
    key_id: int,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """Revoke a key: it answers 401 from the next request on, on every instance."""
    require_role(principal, Role.SUPERVISOR)
    row = session.get(ApiKey, key_id)
    if row is None or (not principal.is_admin and row.team_id != principal.team_id):
        raise NotFound("key not found")
    if row.role == Role.ADMIN and not principal.is_admin:
        raise Forbidden("only an admin may revoke admin keys")
    if revoke_key(session=session, api_key=row, now=runtime.now()):
        audit_row(session, principal, "api_key.revoke", row, team_id=row.team_id)
    session.commit()
    return Response(status_code=204)


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_role: str | None
    team_id: int | None
    action: str
    record_type: str
    record_id: int | None
    detail: dict | None


@router.get("/audit", response_model=list[AuditEntry])
def read_audit(
    session: SessionDep,
    principal: CurrentPrincipal,
    paging: LongPage,
    team_id: int | None = None,
    start: Instant | None = None,
    end: Instant | None = None,
) -> list[AuditEntry]:
    """Who did what to which record, newest first. Supervisors see their own team."""
    require_role(principal, Role.SUPERVISOR)
    team_id = audit_team_of(principal, team_id)
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise Invalid(["query", name], "must include a UTC offset")
    rows = audit_entries(
        session=session,
        team_id=team_id,
        start=start,
        end=end,
        limit=paging.limit + 1,
        offset=paging.offset,
    )
    return [AuditEntry.model_validate(r, from_attributes=True) for r in paging.of(rows)]
