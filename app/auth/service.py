"""API keys (hashed at rest) and the audit log helper every domain uses."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from app.auth.models import ROLES, ApiKey, AuditLog
from app.errors import Invalid

KEY_PREFIX = "cr_"


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
        return self.role == "admin"


SYSTEM = Principal(actor="system", role="admin")
CLI = Principal(actor="cli", role="admin")


def create_key(
    *,
    session: Session,
    name: str,
    role: str,
    team_id: int | None = None,
    staff_id: int | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key's hash; return the row and the key (the only time it exists)."""
    if role not in ROLES:
        raise Invalid("role", f"must be one of {', '.join(ROLES)}")
    if role != "admin" and team_id is None:
        raise Invalid("team_id", f"a {role} key must be scoped to a team")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        role=role,
        team_id=team_id,
        staff_id=staff_id,
        key_hash=hash_key(key),
        prefix=key[:10],
    )
    session.add(row)
    session.flush()
    return row, key


def find_key(*, session: Session, key: str) -> ApiKey | None:
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    if row is None or row.revoked_at is not None:
        return None
    return row


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


def principal_for_key(row: ApiKey) -> Principal:
    """The one place a key becomes a principal: the API's bearer dependency
    and a console session signed in with a key both come through here."""
    return Principal(
        actor=f"key:{row.id}", role=row.role, team_id=row.team_id, staff_id=row.staff_id
    )


def key_in_force(*, session: Session, api_key: ApiKey, now) -> bool:
    """Whether a key found by id still works (a console session signed in
    with it ends when it is revoked)."""
    return api_key.revoked_at is None
