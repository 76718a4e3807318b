"""What a caller may read: the one authorization path for clients, their
plans and plan links, and contacts. The API routers and the console both ask
these functions; nothing checks access inline.

Supervisors and admins read their team's records (admins every team's).
A case manager reads, of their own team, only what their work needs:
- clients they are the assigned or backup case manager of, and their plans,
  plan versions, plan links and contacts;
- contacts they were paged for (an SMS notification or a dialled call) or hold;
- the client of a contact they were paged for or hold while that contact is
  still open (not resolved).
Anything else is 404, as another team's records are, so ids do not leak.
A break-glass read (see `break_glass`) reaches past this with a reason, is
audited, and alerts the team's supervisors.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TypeVar

from sqlalchemy import exists, false, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from app.auth.deps import check_team
from app.auth.models import Role
from app.auth.service import Principal, audit
from app.clients.models import Client
from app.contacts.models import Contact, ContactEvent, ContactStatus, EventKind
from app.errors import NotFound
from app.escalation.notices import alert_supervisors
from app.messaging.texts import break_glass_alert
from app.teams.models import Staff, Team

# Timeline kinds that mean "this person was asked to take the contact".
PAGED_KINDS = (EventKind.NOTIFIED, EventKind.DIALLED)
# A contact nobody has resolved yet: its on-call staff still need the client's plan.
UNRESOLVED = (ContactStatus.OPEN, ContactStatus.ACKNOWLEDGED, ContactStatus.UNANSWERED)
R = TypeVar("R", Client, Contact)


def is_limited(principal: Principal) -> bool:
    """Whether the caller sees only their own caseload and contacts."""
    return principal.role == Role.CASE_MANAGER


def _paged_or_holding(staff_id: int | None) -> ColumnElement[bool]:
    if staff_id is None:
        return false()
    return or_(
        col(Contact.acknowledged_by) == staff_id,
        exists().where(
            col(ContactEvent.contact_id) == col(Contact.id),
            col(ContactEvent.staff_id) == staff_id,
            col(ContactEvent.kind).in_(PAGED_KINDS),
        ),
    )


def _own_caseload(staff_id: int | None) -> ColumnElement[bool]:
    if staff_id is None:
        return false()
    return or_(
        col(Client.assigned_case_manager_id) == staff_id,
        col(Client.backup_case_manager_id) == staff_id,
    )


def client_filter(principal: Principal) -> ColumnElement[bool] | None:
    """A WHERE clause over `Client` selecting what the caller may read beyond
    the team check (None: the whole team)."""
    if not is_limited(principal):
        return None
    staff_id = principal.staff_id
    on_call_for = (
        select(col(Contact.id))
        .where(
            col(Contact.client_id) == col(Client.id),
            col(Contact.status).in_(UNRESOLVED),
            _paged_or_holding(staff_id),
        )
        .exists()
    )
    return or_(_own_caseload(staff_id), on_call_for)


def contact_filter(principal: Principal) -> ColumnElement[bool] | None:
    """A WHERE clause over `Contact` (None: the whole team)."""
    if not is_limited(principal):
        return None
    staff_id = principal.staff_id
    of_own_client = (
        select(col(Client.id))
        .where(col(Client.id) == col(Contact.client_id), _own_caseload(staff_id))
        .exists()
    )
    return or_(_paged_or_holding(staff_id), of_own_client)


def _readable(session: Session, principal: Principal, model: type[R], record_id: int, where) -> R:
    """The row if it is of the caller's team and passes their read filter
    (`where`, None: the whole team), else 404."""
    row = session.get(model, record_id)
    if row is None or (not principal.is_admin and principal.team_id != row.team_id):
        raise NotFound(f"{_name(model)} not found")
    if where is not None and (
        session.execute(select(col(model.id)).where(col(model.id) == row.id, where)).first() is None
    ):
        raise NotFound(f"{_name(model)} not found")
    return row


def _name(model: type) -> str:
    return model.__name__.lower()


def readable_client(session: Session, principal: Principal, client_id: int) -> Client:
    """The client if the caller may read it, else 404."""
    return _readable(session, principal, Client, client_id, client_filter(principal))


def readable_contact(session: Session, principal: Principal, contact_id: int) -> Contact:
    """The contact if the caller may read it, else 404."""
    return _readable(session, principal, Contact, contact_id, contact_filter(principal))


def team_record(session: Session, principal: Principal, model: type[R], record_id: int) -> R:
    """The client or contact if it is in the caller's team (break-glass
    reaches this far, never further), else 404."""
    row = session.get(model, record_id)
    if row is None:
        raise NotFound(f"{_name(model)} not found")
    check_team(principal, row.team_id, what=_name(model))
    return row


def break_glass_read(
    *,
    session: Session,
    principal: Principal,
    model: type[R],
    record_id: int,
    reason: str,
    now: datetime,
) -> R:
    """The team's client or contact, read past the caller's usual scope (see `break_glass`)."""
    row = team_record(session, principal, model, record_id)
    break_glass(
        session=session,
        principal=principal,
        team_id=row.team_id,
        record_type=_name(model),
        record_id=row.id,
        reason=reason,
        now=now,
    )
    return row


def break_glass(
    *,
    session: Session,
    principal: Principal,
    team_id: int,
    record_type: str,
    record_id: int,
    reason: str,
    now: datetime,
) -> None:
    """An emergency read past the caller's usual scope: audited with its
    reason, and every active supervisor of the team is texted at once (in the
    caller's transaction, through the outbox), so nobody reads quietly."""
    audit(
        session=session,
        principal=principal,
        action="break_glass.read",
        record_type=record_type,
        record_id=record_id,
        team_id=team_id,
        detail={"reason": reason, "staff_id": principal.staff_id},
    )
    team = session.get_one(Team, team_id)
    reader = session.get(Staff, principal.staff_id) if principal.staff_id else None
    alert_supervisors(
        session=session,
        team=team,
        body=functools.partial(
            break_glass_alert,
            reader=reader.name if reader else principal.actor,
            record_type=record_type,
            record_id=record_id,
        ),
        now=now,
    )
