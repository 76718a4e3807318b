"""Request dependencies: the database session and the calling principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.auth.models import Role
from app.auth.service import Principal, audit_row, find_key, note_use, principal_for_key
from app.errors import Forbidden, NotFound, Unauthorized
from app.runtime import runtime_of
from app.teams.models import Team


def get_session(request: Request) -> Iterator[Session]:
    """A session per request. Routes commit explicitly before they answer, so a
    client never hears 200 for something that was not stored."""
    session = runtime_of(request).db.sessionmaker()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer cr_…`")


def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing API key: send Authorization: Bearer <key>")
    now = runtime_of(request).now()
    row = find_key(session=session, key=credentials.credentials, now=now)
    if row is None:
        raise Unauthorized("invalid, expired or revoked API key")
    note_use(session=session, api_key=row, now=now)
    return principal_for_key(row)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_role(principal: Principal, *roles: str) -> None:
    """Admins pass every role check; others must hold one of `roles`."""
    if principal.is_admin or principal.role in roles:
        return
    raise Forbidden(
        f"this action needs the role {' or '.join(roles)}; your key is {principal.role}"
    )


def check_team(principal: Principal, team_id: int | None, *, what: str = "record") -> None:
    """Another team's data is answered with 404 so ids do not leak."""
    if principal.is_admin:
        return
    if team_id is None or principal.team_id != team_id:
        raise NotFound(f"{what} not found")


class Roles:
    """Route dependencies: `Depends(Roles.supervisor)` and friends."""

    @staticmethod
    def admin(principal: CurrentPrincipal) -> Principal:
        require_role(principal, Role.ADMIN)
        return principal

    @staticmethod
    def supervisor(principal: CurrentPrincipal) -> Principal:
        require_role(principal, Role.SUPERVISOR)
        return principal

    @staticmethod
    def staff(principal: CurrentPrincipal) -> Principal:
        require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
        return principal


AdminPrincipal = Annotated[Principal, Depends(Roles.admin)]
SupervisorPrincipal = Annotated[Principal, Depends(Roles.supervisor)]
StaffPrincipal = Annotated[Principal, Depends(Roles.staff)]


def load_owned(session: Session, principal: Principal, model, record_id: int, *, what: str):
    """A team-owned row by id, or 404 — also when it belongs to another team,
    so ids of other teams' records do not leak."""
    row = session.get(model, record_id)
    if row is None:
        raise NotFound(f"{what} not found")
    check_team(principal, row.team_id, what=what)
    return row


def load_team(session: Session, principal: Principal, team_id: int) -> Team:
    """The caller's team by id, or 404 (another team's answers the same)."""
    check_team(principal, team_id, what="team")
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("team not found")
    return team


def load_child(session: Session, model, record_id: int, *, parent: tuple[str, int], what: str):
    """A row by id that belongs to the parent already loaded (`parent` is its
    foreign key and the parent's id), or 404."""
    row = session.get(model, record_id)
    field, parent_id = parent
    if row is None or getattr(row, field) != parent_id:
        raise NotFound(f"{what} not found")
    return row


def delete_audited(
    session: Session, principal: Principal, row, *, record_type: str, team_id: int
) -> Response:
    """Delete `row` with its `<record_type>.delete` audit row, commit, answer 204."""
    session.delete(row)
    audit_row(session, principal, f"{record_type}.delete", row, team_id=team_id)
    session.commit()
    return Response(status_code=204)
