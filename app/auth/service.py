"""API keys (hashed at rest) and the audit log helper every domain uses."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from app.auth.models import ROLES, ApiKey, AuditLog, Role
from app.errors import Invalid, NotFound
from app.teams.models import Staff

KEY_PREFIX = "cr_"
# How stale a key's last_used_at may be: a key used all day writes its row
# once a minute at most, not once a request.
LAST_USED_EVERY = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key's role and scope, or the system itself."""

    actor: str
    role: str
    team_id: int | None = None
    staff_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


SYSTEM = Principal(actor="system", role=Role.ADMIN)
CLI = Principal(actor="cli", role=Role.ADMIN)


def create_key(
    *,
    session: Session,
    name: str,
    role: str,
    team_id: int | None = None,
    staff_id: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key's hash; return the row and the key (the only time it exists)."""
    if role not in ROLES:
        raise Invalid("role", f"must be one of {', '.join(ROLES)}")
    if role != Role.ADMIN and team_id is None:
        raise Invalid("team_id", f"a {role} key must be scoped to a team")
    if role == Role.CASE_MANAGER and staff_id is None:
        # What a case manager may read depends on who they are (their
        # clients, the contacts they are paged for): a key of nobody's
        # would either see nothing or everything.
        raise Invalid("staff_id", "a case_manager key must be bound to a staff member")
    if expires_at is not None and expires_at.tzinfo is None:
        raise Invalid("expires_at", "must include a UTC offset")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        role=role,
        team_id=team_id,
        staff_id=staff_id,
        key_hash=hash_key(key),
        prefix=key[:10],
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, key


def find_key(*, session: Session, key: str, now: datetime) -> ApiKey | None:
    """The key if it works at `now`: not revoked, not expired, and (when bound
    to a staff member) that person still active. Read from the database on
    every request, never cached, so a revoke or a deactivation holds on every
    instance from the next request on."""
    row = session.execute(
        select(ApiKey, Staff.active)
        .outerjoin(Staff, col(Staff.id) == col(ApiKey.staff_id))
        .where(ApiKey.key_hash == hash_key(key))
    ).first()
    if row is None:
        return None
    api_key, staff_active = row
    return api_key if _works(api_key, staff_active, now) else None


def _works(api_key: ApiKey, staff_active: bool | None, now: datetime) -> bool:
    if api_key.revoked_at is not None:
        return False
    if api_key.expires_at is not None and api_key.expires_at <= now:
        return False
    return api_key.staff_id is None or bool(staff_active)


def note_use(*, session: Session, api_key: ApiKey, now: datetime) -> bool:
    """Record that the key was used, at most once per LAST_USED_EVERY; commits
    its own small transaction when it writes. The WHERE repeats the staleness
    test so instances racing on one key write once."""
    if api_key.last_used_at is not None and api_key.last_used_at > now - LAST_USED_EVERY:
        return False
    session.execute(
        update(ApiKey)
        .where(
            col(ApiKey.id) == api_key.id,
            or_(
                col(ApiKey.last_used_at).is_(None),
                col(ApiKey.last_used_at) <= now - LAST_USED_EVERY,
            ),
        )
        .values(last_used_at=now)
    )
    session.commit()
    return True


def list_keys(
    *, session: Session, team_id: int | None, limit: int | None = None, offset: int = 0
) -> list[ApiKey]:
    query = select(ApiKey).order_by(col(ApiKey.id)).offset(offset)
    if team_id is not None:
        query = query.where(ApiKey.team_id == team_id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def revoke_key(*, session: Session, api_key: ApiKey, now: datetime) -> bool:
    """Revoke at once; revoking a revoked key changes nothing."""
    if api_key.revoked_at is not None:
        return False
    api_key.revoked_at = now
    session.add(api_key)
    return True


def audit(
    *,
    session: Session,
    principal: Principal,
    action: str,
    record_type: str,
    record_id: int | None = None,
    team_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Append an audit row in the caller's transaction (so it lands iff the act does)."""
    row = AuditLog(
        actor=principal.actor,
        actor_role=principal.role,
        team_id=team_id if team_id is not None else principal.team_id,
        action=action,
        record_type=record_type,
        record_id=record_id,
        detail=detail,
    )
    session.add(row)
    return row


def audit_row(
    session: Session,
    principal: Principal,
    action: str,
    record: Any,
    *,
    team_id: int | None,
    detail: dict[str, Any] | None = None,
    record_type: str | None = None,
) -> AuditLog:
    """`audit` for an act on one row: the record id is the row's, the record
    type the action's noun (`leave.create` is about a `leave`) unless named."""
    return audit(
        session=session,
        principal=principal,
        action=action,
        record_type=record_type or action.partition(".")[0],
        record_id=record.id,
        team_id=team_id,
        detail=detail,
    )


def principal_for_key(row: ApiKey) -> Principal:
    """The one place a key becomes a principal: the API's bearer dependency
    and a console session signed in with a key both come through here."""
    return Principal(
        actor=f"key:{row.id}", role=row.role, team_id=row.team_id, staff_id=row.staff_id
    )


def key_in_force(*, session: Session, api_key: ApiKey, now: datetime) -> bool:
    """Whether a key found by id still works, by the same rules as find_key
    (a console session signed in with it ends when it is revoked or expires,
    or its staff member is deactivated)."""
    staff = session.get(Staff, api_key.staff_id) if api_key.staff_id is not None else None
    return _works(api_key, staff.active if staff else None, now)


def audit_team_of(principal: Principal, team_id: int | None) -> int | None:
    """Which team's audit log a reader sees: a supervisor only their own
    (another team answers 404), an admin any team or all (None)."""
    if principal.is_admin:
        return team_id
    if team_id is not None and team_id != principal.team_id:
        raise NotFound("team not found")
    return principal.team_id


def audit_entries(
    *,
    session: Session,
    team_id: int | None,
    start=None,
    end=None,
    limit: int = 200,
    offset: int = 0,
) -> list[AuditLog]:
    """Who did what to which record, newest first."""
    query = select(AuditLog)
    if team_id is not None:
        query = query.where(AuditLog.team_id == team_id)
    if start is not None:
        query = query.where(AuditLog.at >= start)
    if end is not None:
        query = query.where(AuditLog.at < end)
    query = (
        query.order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc()).offset(offset).limit(limit)
    )
    return list(session.exec(query).all())
