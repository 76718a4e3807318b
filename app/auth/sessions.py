"""Console sessions: a random token in an HttpOnly cookie, its hash in
`console_session`. A session resolves to the same `Principal` an API key
does, so every page is decided by the same checks as the API.

Functions here never commit; the request boundary does.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session, col

from app.auth.models import ApiKey, ConsoleSession
from app.auth.service import Principal, key_in_force, principal_for_key
from app.db import rowcount
from app.teams.models import Staff

IDLE_TIMEOUT = timedelta(hours=12)
# A page view refreshes the idle clock at most this often: a write per
# request would turn every read (and the board's polling) into a write.
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_for_staff(staff: Staff) -> Principal:
    """A signed-in staff member is their role on their team, like a key bound to them."""
    return Principal(
        actor=f"staff:{staff.id}", role=staff.role, team_id=staff.team_id, staff_id=staff.id
    )


@dataclass(frozen=True)
class SignedIn:
    """What a request's session cookie resolves to."""

    session_id: int
    principal: Principal
    name: str  # the person's name, or the key's name for an admin


def start_session(
    *, session: Session, now: datetime, staff_id: int | None = None, api_key_id: int | None = None
) -> str:
    """A new session for a staff member or an admin key; returns the cookie token."""
    if (staff_id is None) == (api_key_id is None):
        raise ValueError("a session is either a staff member's or an API key's")
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=token_hash(token),
            staff_id=staff_id,
            api_key_id=api_key_id,
            created_at=now,
            last_seen_at=now,
        )
    )
    session.flush()
    return token


def resolve_session(
    *, session: Session, token: str | None, now: datetime, touch: bool = True
) -> SignedIn | None:
    """The principal behind a cookie token, or None when it is unknown,
    revoked, idle for longer than IDLE_TIMEOUT, or its person or key no
    longer works. `touch` refreshes the idle clock (not for the board's
    automatic polling: an open tab is not someone using it)."""
    if not token:
        return None
    row = (
        session.execute(
            select(ConsoleSession).where(col(ConsoleSession.token_hash) == token_hash(token))
        )
        .scalars()
        .first()
    )
    if row is None or row.revoked_at is not None or row.last_seen_at <= now - IDLE_TIMEOUT:
        return None
    if row.staff_id is not None:
        staff = session.get(Staff, row.staff_id)
        if staff is None or not staff.active:
            return None
        signed_in = SignedIn(row.id, principal_for_staff(staff), staff.name)
    else:
        api_key = session.get(ApiKey, row.api_key_id)
        if api_key is None or not key_in_force(session=session, api_key=api_key, now=now):
            return None
        signed_in = SignedIn(row.id, principal_for_key(api_key), api_key.name)
    if touch and row.last_seen_at <= now - TOUCH_EVERY:
        session.execute(
            update(ConsoleSession)
            .where(
                ConsoleSession.id == row.id, col(ConsoleSession.last_seen_at) <= now - TOUCH_EVERY
            )
            .values(last_seen_at=now)
        )
        session.commit()
    return signed_in


def revoke_session(*, session: Session, session_id: int, now: datetime) -> None:
    session.execute(
        update(ConsoleSession)
        .where(col(ConsoleSession.id) == session_id, col(ConsoleSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def revoke_sessions_of(*, session: Session, staff_id: int, now: datetime) -> int:
    """Sign a person out everywhere (e.g. a lost phone)."""
    result = session.execute(
        update(ConsoleSession)
        .where(col(ConsoleSession.staff_id) == staff_id, col(ConsoleSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return rowcount(result) or 0
