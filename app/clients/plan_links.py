"""Short-lived links to a client's current crisis plan, for on-call phones.

The token is random, stored only as a SHA-256, expires (PLAN_LINK_HOURS) and
can be revoked; every open is audited. The SMS carries the link, never the plan.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from app.clients.models import Client, PlanLink
from app.db import table_of
from app.settings import Settings
from app.teams.models import Staff

_INSERT_PLAN_LINK = table_of(PlanLink).insert()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_plan_link(
    *,
    session: Session,
    client_id: int | None,
    staff_id: int | None,
    contact_id: int | None,
    now: datetime,
    settings: Settings,
) -> str:
    # 12 random bytes (96 bits) keep the URL short enough for one SMS segment.
    token = secrets.token_urlsafe(12)
    # Written for every notification about a known client, and never read back
    # in the transaction that writes it: a Core insert, not an ORM object to
    # flush, and not a reason to flush what the transaction added so far (it
    # needs only the client, which exists). No client: an unknown caller's
    # conversation.
    with session.no_autoflush:
        session.execute(
            _INSERT_PLAN_LINK,
            {
                "client_id": client_id,
                "staff_id": staff_id,
                "contact_id": contact_id,
                "token_hash": _hash(token),
                "expires_at": now + timedelta(hours=settings.plan_link_hours),
                "revoked_at": None,
                "created_at": now,
            },
        )
    return f"{settings.public_base_url}/plan/{token}"


def find_plan_link(*, session: Session, token: str, now: datetime) -> PlanLink | None:
    """The link if it exists, is not revoked, has not expired, its client (if
    any) is not discharged and the staff member it was sent to is still active."""
    row = session.execute(
        select(PlanLink, col(Client.status), col(Staff.active))
        .outerjoin(Client, col(Client.id) == col(PlanLink.client_id))
        .outerjoin(Staff, col(Staff.id) == col(PlanLink.staff_id))
        .where(col(PlanLink.token_hash) == _hash(token))
    ).first()
    if row is None:
        return None
    link, client_status, staff_active = row
    if link.revoked_at is not None or link.expires_at <= now:
        return None
    if link.client_id is None and link.contact_id is None:
        return None
    if link.client_id is not None and client_status != "active":
        return None
    if link.staff_id is not None and not staff_active:
        return None
    return link


def revoke_plan_links(
    *,
    session: Session,
    now: datetime,
    client_id: int | None = None,
    staff_id: int | None = None,
    link_id: int | None = None,
) -> int:
    """Revoke the live links of a client, or those sent to a staff member."""
    if client_id is None and staff_id is None:
        raise ValueError("revoke whose links? give client_id or staff_id")
    query = select(PlanLink).where(col(PlanLink.revoked_at).is_(None))
    if client_id is not None:
        query = query.where(col(PlanLink.client_id) == client_id)
    if staff_id is not None:
        query = query.where(col(PlanLink.staff_id) == staff_id)
    if link_id is not None:
        query = query.where(col(PlanLink.id) == link_id)
    links = list(session.execute(query).scalars())
    for link in links:
        link.revoked_at = now
        session.add(link)
    return len(links)
