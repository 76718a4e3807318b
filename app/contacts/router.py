"""Reading contacts and acknowledging them through the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlmodel import Session, col

from app.auth import access
from app.auth.deps import CurrentPrincipal, SessionDep, require_role
from app.auth.models import Role
from app.auth.service import audit_row
from app.clients.schemas import BreakGlassIn
from app.contacts import service as contacts
from app.contacts.actions import acknowledge_as
from app.contacts.holders import present
from app.contacts.models import CONTACT_STATUSES, Contact
from app.contacts.schemas import (
    AcknowledgeIn,
    ContactDetail,
    ContactPage,
    ContactPublic,
    EventPublic,
    PagedPersonPublic,
)
from app.datetimes import Instant
from app.errors import Invalid, NotFound
from app.escalation import paging
from app.paging import Offset
from app.runtime import RuntimeDep

router = APIRouter(prefix="/v1", tags=["contacts"])


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise Invalid(["query", name], "must include a UTC offset, e.g. 2026-11-22T03:00:00+00:00")
    return value


def load_contact(session: Session, principal, contact_id: int) -> Contact:
    """A contact this caller may see and act on (app.auth.access), else 404."""
    return access.readable_contact(session, principal, contact_id)


@router.get("/contacts", response_model=ContactPage)
def list_contacts(
    session: SessionDep,
    principal: CurrentPrincipal,
    team_id: int | None = None,
    status: str | None = None,
    client_id: int | None = None,
    start: Instant | None = None,
    end: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> ContactPage:
    """Contacts, newest first. Non-admin keys see their own team only."""
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    if status is not None and status not in CONTACT_STATUSES:
        raise Invalid(["query", "status"], f"must be one of {', '.join(CONTACT_STATUSES)}")
    _aware("start", start), _aware("end", end)
    if not principal.is_admin:
        if team_id is not None and team_id != principal.team_id:
            raise NotFound("team not found")
        team_id = principal.team_id
    query = select(Contact)
    if team_id is not None:
        query = query.where(col(Contact.team_id) == team_id)
    if status:
        query = query.where(col(Contact.status) == status)
    if client_id is not None:
        query = query.where(col(Contact.client_id) == client_id)
    if start:
        query = query.where(col(Contact.created_at) >= start)
    if end:
        query = query.where(col(Contact.created_at) < end)
    scope = access.contact_filter(principal)
    if scope is not None:
        query = query.where(scope)
    rows = list(
        session.execute(
            query.order_by(col(Contact.created_at).desc(), col(Contact.id).desc())
            .offset(offset)
            .limit(limit + 1)
        ).scalars()
    )
    more = len(rows) > limit
    return ContactPage(
        items=present(session=session, rows=rows[:limit]),
        next_offset=offset + limit if more else None,
    )


def _detail(session: Session, principal, contact: Contact, via: str) -> ContactDetail:
    events = contacts.timeline(session=session, contact_id=contact.id)
    audit_row(
        session, principal, "contact.read", contact, team_id=contact.team_id, detail={"via": via}
    )
    session.commit()
    return ContactDetail(
        **present(session=session, rows=[contact])[0].model_dump(),
        events=[EventPublic.model_validate(e, from_attributes=True) for e in events],
        pages=[
            PagedPersonPublic.model_validate(p)
            for p in paging.report(session=session, contact=contact)
        ],
    )


@router.get("/contacts/{contact_id}", response_model=ContactDetail)
def get_contact(contact_id: int, session: SessionDep, principal: CurrentPrincipal) -> ContactDetail:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    return _detail(session, principal, load_contact(session, principal, contact_id), "api")


@router.post("/contacts/{contact_id}/break-glass", response_model=ContactDetail)
def break_glass_contact(
    contact_id: int,
    body: BreakGlassIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> ContactDetail:
    """Read a contact outside your caseload in an emergency. The reason is
    required and audited, and the team's supervisors are texted at once."""
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    contact = access.break_glass_read(
        session=session,
        principal=principal,
        model=Contact,
        record_id=contact_id,
        reason=body.reason,
        now=runtime.now(),
    )
    return _detail(session, principal, contact, "break_glass")


@router.post("/contacts/{contact_id}/acknowledge", response_model=ContactPublic)
def acknowledge_contact(
    contact_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    request_: Request,
    body: AcknowledgeIn | None = None,
):
    """Take the contact (escalation stops). A person holds it: the staff member
    named in `staff_id`, else the one the key is bound to (422 naming `staff_id`
    when neither is an active member of the contact's team)."""
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    load_contact(session, principal, contact_id)
    contact = acknowledge_as(
        session=session,
        principal=principal,
        contact_id=contact_id,
        staff_id=body.staff_id if body else None,
        now=request_.app.state.runtime.now(),
        via="api",
    )
    session.commit()
    return present(session=session, rows=[contact])[0]
