"""The board: what is live right now, newest activity first."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.auth import access
from app.auth.service import Principal
from app.clients.models import Client
from app.contacts.models import Contact, ContactEvent, ContactStatus, EventKind
from app.teams.models import Staff

LIVE_STATUSES = (ContactStatus.OPEN, ContactStatus.ACKNOWLEDGED, ContactStatus.UNANSWERED)
BOARD_LIMIT = 200


@dataclass(frozen=True)
class BoardRow:
    id: int
    client_name: str  # the client's preferred name, or "unknown"
    channel: str
    status: str
    level: int
    priority: str
    who: str  # the holder, or the people paged at the current level
    holding: bool
    created_at: datetime
    updated_at: datetime
    last_words: str | None


def contact_scope(principal: Principal):
    """The contacts a principal sees beyond the team check: the API's rule
    (app.auth.access), so the board and the API never disagree."""
    return access.contact_filter(principal)


# What a board row reads of a contact: columns, not ORM objects. Building 200
# entities, with JSON columns the board never shows, costs more than the query.
_COLUMNS = (
    col(Contact.id),
    col(Contact.client_id),
    col(Contact.channel),
    col(Contact.status),
    col(Contact.level),
    col(Contact.priority),
    col(Contact.plan),
    col(Contact.acknowledged_by),
    col(Contact.created_at),
    col(Contact.updated_at),
)


def board(*, session: Session, principal: Principal) -> list[BoardRow]:
    query = select(*_COLUMNS).where(col(Contact.status).in_(LIVE_STATUSES))
    if not principal.is_admin:
        query = query.where(col(Contact.team_id) == principal.team_id)
    scope = contact_scope(principal)
    if scope is not None:
        query = query.where(scope)
    contacts = session.execute(
        query.order_by(col(Contact.updated_at).desc(), col(Contact.id).desc()).limit(BOARD_LIMIT)
    ).all()
    if not contacts:
        return []
    ids = [c.id for c in contacts]
    client_ids = {c.client_id for c in contacts if c.client_id is not None}
    clients = client_names(session, client_ids)
    staff_ids: set[int] = set()
    for c in contacts:
        staff_ids.update(_paged_ids(c))
        if c.acknowledged_by is not None:
            staff_ids.add(c.acknowledged_by)
    names = staff_names(session, staff_ids)
    last_event = (
        select(func.max(ContactEvent.id))
        .where(col(ContactEvent.contact_id).in_(ids), col(ContactEvent.kind) == EventKind.RECEIVED)
        .group_by(col(ContactEvent.contact_id))
    )
    last_words = {
        contact_id: str((data or {}).get("body") or "")
        for contact_id, data in session.execute(
            select(col(ContactEvent.contact_id), col(ContactEvent.data)).where(
                col(ContactEvent.id).in_(last_event)
            )
        )
    }
    return [
        BoardRow(
            id=c.id,
            client_name=clients.get(c.client_id, "unknown") if c.client_id else "unknown",
            channel=c.channel,
            status=c.status,
            level=c.level,
            priority=c.priority,
            who=_who(c, names),
            holding=c.acknowledged_by is not None and c.status == ContactStatus.ACKNOWLEDGED,
            created_at=c.created_at,
            updated_at=c.updated_at,
            last_words=last_words.get(c.id),
        )
        for c in contacts
    ]


def client_names(session: Session, client_ids: Collection[int]) -> dict[int, str]:
    """Each client's preferred name, by id."""
    return _names(session, col(Client.id), col(Client.preferred_name), client_ids)


def staff_names(session: Session, staff_ids: Collection[int]) -> dict[int, str]:
    """Each staff member's name, by id."""
    return _names(session, col(Staff.id), col(Staff.name), staff_ids)


def _names(session: Session, id_column, name_column, ids: Collection[int]) -> dict[int, str]:
    # No ids, no query.
    if not ids:
        return {}
    return dict(session.execute(select(id_column, name_column).where(id_column.in_(ids))).all())


def _paged_ids(contact) -> list[int]:
    """`contact`: a Contact or a row of its columns (plan, level)."""
    if not contact.plan or not 1 <= contact.level <= len(contact.plan):
        return []
    return list(contact.plan[contact.level - 1].get("staff_ids") or [])


def _who(contact, names: dict[int, str]) -> str:
    """`contact`: a Contact or a row of its columns (status, plan, level, acknowledged_by)."""
    if contact.status == ContactStatus.ACKNOWLEDGED and contact.acknowledged_by is not None:
        return names.get(contact.acknowledged_by, "someone")
    if contact.status == ContactStatus.UNANSWERED:
        return "nobody answered"
    paged = [names.get(i, "someone") for i in _paged_ids(contact)]
    if paged:
        return ", ".join(paged)
    if contact.plan and 1 <= contact.level <= len(contact.plan):
        return str(contact.plan[contact.level - 1].get("label") or "")
    return "not paged yet"
