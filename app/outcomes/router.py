"""Resolving contacts, the morning review queue, and client events."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import Session

from app.auth import access
from app.auth.deps import CurrentPrincipal, SessionDep, load_team, require_role
from app.auth.models import Role
from app.auth.service import audit_row
from app.clients.models import Client
from app.contacts.actions import resolve_as
from app.contacts.holders import present
from app.contacts.router import load_contact
from app.contacts.schemas import ContactPublic
from app.outcomes import service
from app.outcomes.schemas import (
    ClientEventIn,
    ClientEventOut,
    ClientEventsOut,
    ResolveIn,
    ReviewIn,
    ReviewItem,
    Stay,
)
from app.paging import LongPage
from app.runtime import RuntimeDep

router = APIRouter(prefix="/v1", tags=["outcomes"])


@router.post("/contacts/{contact_id}/resolve", response_model=ContactPublic)
def resolve_contact(
    contact_id: int,
    body: ResolveIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> ContactPublic:
    """Close a contact with its outcome and risk level, or complete the details
    of one closed by SMS (`DONE`). Case managers may do this; it is the one
    thing they edit."""
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    load_contact(session, principal, contact_id)
    contact = resolve_as(
        session=session,
        principal=principal,
        contact_id=contact_id,
        details=body.model_dump(exclude_none=True, exclude={"staff_id"}),
        staff_id=body.staff_id,
        now=runtime.now(),
        via="api",
    )
    session.commit()
    return present(session=session, rows=[contact])[0]


@router.post("/contacts/{contact_id}/review", response_model=ContactPublic)
def review_contact(
    contact_id: int,
    body: ReviewIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> ContactPublic:
    """A supervisor has looked at this contact in the morning review."""
    require_role(principal, Role.SUPERVISOR)
    contact = load_contact(session, principal, contact_id)
    service.mark_reviewed(
        session=session,
        principal=principal,
        contact=contact,
        note=body.note,
        now=runtime.now(),
    )
    session.commit()
    return ContactPublic.model_validate(contact, from_attributes=True)


@router.get("/teams/{team_id}/review-queue", response_model=list[ReviewItem])
def review_queue(
    team_id: int,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    paging: LongPage,
) -> list[ReviewItem]:
    """Every contact no supervisor has reviewed yet, and reviewed ones whose
    follow-up has fallen due since: unanswered and high-risk on top, then due
    follow-ups, then overnight (outside Mon–Fri 09:00–17:00 team time), then
    by risk, newest first. Reviewing a contact takes it off the queue."""
    require_role(principal, Role.SUPERVISOR)
    team = load_team(session, principal, team_id)
    now = runtime.now()
    rows = service.review_queue(
        session=session, team=team, now=now, limit=paging.offset + paging.limit + 1
    )
    return [
        ReviewItem(
            id=c.id,
            channel=c.channel,
            status=c.status,
            risk_level=c.risk_level,
            outcome=c.outcome,
            priority=c.priority,
            overnight=service.is_after_hours(c.created_at, team.timezone),
            follow_up_due=service.follow_up_pending(c, now),
            follow_up_due_at=c.follow_up_due_at,
            reviewed_at=c.reviewed_at,
            created_at=c.created_at,
            level=c.level,
        )
        for c in paging.of(rows[paging.offset :])
    ]


def _client(session: Session, principal, client_id: int) -> Client:
    return access.readable_client(session, principal, client_id)


@router.post("/clients/{client_id}/events", status_code=201, response_model=ClientEventOut)
def add_client_event(
    client_id: int, body: ClientEventIn, session: SessionDep, principal: CurrentPrincipal
) -> ClientEventOut:
    """ER visits, hospital admissions and discharges (which pair into stays),
    housing changes, jail bookings and releases."""
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    client = _client(session, principal, client_id)
    event = service.record_client_event(
        session=session,
        client=client,
        kind=body.kind,
        at=body.at,
        notes=body.notes,
        actor=principal.actor,
    )
    audit_row(
        session,
        principal,
        "client_event.create",
        event,
        team_id=client.team_id,
        detail={"kind": body.kind},
    )
    session.commit()
    return ClientEventOut.model_validate(event, from_attributes=True)


@router.get("/clients/{client_id}/events", response_model=ClientEventsOut)
def list_client_events(
    client_id: int, session: SessionDep, principal: CurrentPrincipal
) -> ClientEventsOut:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    client = _client(session, principal, client_id)
    events = service.client_events(session=session, client_id=client.id)
    stays = service.pair_stays([(e.kind, e.at) for e in events])
    return ClientEventsOut(
        events=[ClientEventOut.model_validate(e, from_attributes=True) for e in events],
        stays=[Stay(admitted_at=s.admitted_at, discharged_at=s.discharged_at) for s in stays],
    )
