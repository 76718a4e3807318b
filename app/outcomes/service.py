"""Resolving contacts, client events and stays, follow-ups, the review queue.

Deciders are pure (`pair_stays`, `due_follow_ups`, `review_order`); the
functions that write take the session first and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app.auth.service import Principal, audit_row
from app.clients.models import Client, ClientEvent
from app.contacts import service as contacts
from app.contacts.derived import is_after_hours
from app.contacts.models import Contact, ContactStatus, EventKind
from app.errors import Conflict, Invalid
from app.i18n import _
from app.messaging.models import MessagePurpose
from app.messaging.outbox import enqueue
from app.teams.models import Staff, Team


def resolve_contact(
    *,
    session: Session,
    contact: Contact,
    details: dict,
    staff_id: int | None,
    now: datetime,
    actor: str,
    via: str = "api",
) -> None:
    if details.get("emergency_confirmed") and not details.get("emergency_dispatched"):
        raise Invalid("emergency_confirmed", "cannot be true unless emergency_dispatched is true")
    due = details.get("follow_up_due_at")
    if due is not None:
        if due.tzinfo is None:
            raise Invalid("follow_up_due_at", "must include a UTC offset")
        if due <= now:
            raise Invalid("follow_up_due_at", "must be in the future")
    if "notes" in details:
        details["resolution_notes"] = details.pop("notes")
    contacts.resolve(
        session=session, contact=contact, at=now, staff_id=staff_id, via=via, details=details
    )


# ------------------------------------------------------------- client events


@dataclass(frozen=True)
class StayPeriod:
    admitted_at: datetime
    discharged_at: datetime | None


def pair_stays(events: list[tuple[str, datetime]]) -> list[StayPeriod]:
    """Pair admissions with discharges in time order. Raises ValueError on an
    inconsistent history (a discharge with no open stay, an admission while
    one is open)."""
    stays: list[StayPeriod] = []
    open_since: datetime | None = None
    for kind, at in sorted(events, key=lambda e: e[1]):
        if kind == "hospital_admission":
            if open_since is not None:
                raise ValueError(
                    f"an admission at {at.isoformat()} while a stay is open since {open_since.isoformat()}"
                )
            open_since = at
        elif kind == "hospital_discharge":
            if open_since is None:
                raise ValueError(f"a discharge at {at.isoformat()} without an open hospital stay")
            stays.append(StayPeriod(open_since, at))
            open_since = None
    if open_since is not None:
        stays.append(StayPeriod(open_since, None))
    return stays


def client_events(*, session: Session, client_id: int) -> list[ClientEvent]:
    return list(
        session.execute(
            select(ClientEvent)
            .where(col(ClientEvent.client_id) == client_id)
            .order_by(col(ClientEvent.at), col(ClientEvent.id))
        ).scalars()
    )


def record_client_event(
    *, session: Session, client: Client, kind: str, at: datetime, notes: str | None, actor: str
) -> ClientEvent:
    if at.tzinfo is None:
        raise Invalid("at", "must include a UTC offset")
    history = [(e.kind, e.at) for e in client_events(session=session, client_id=client.id)]
    try:
        pair_stays(history + [(kind, at)])
    except ValueError as exc:
        raise Conflict(f"inconsistent hospital stays: {exc}") from None
    event = ClientEvent(client_id=client.id, kind=kind, at=at, notes=notes, created_by=actor)
    session.add(event)
    session.flush()
    return event


# ------------------------------------------------------------- follow-ups


def due_follow_ups(contacts_: list[Contact], now: datetime) -> list[Contact]:
    return [
        c
        for c in contacts_
        if c.follow_up_due_at is not None
        and c.follow_up_sent_at is None
        and c.follow_up_due_at <= now
    ]


def send_due_follow_ups(*, session: Session, now: datetime) -> int:
    """Text the responsible case manager once when a follow-up falls due."""
    # Row locks (PostgreSQL) so two instances running the job never text twice.
    candidates = list(
        session.execute(
            select(Contact)
            .where(
                col(Contact.follow_up_due_at).is_not(None),
                col(Contact.follow_up_sent_at).is_(None),
                col(Contact.follow_up_due_at) <= now,
            )
            .order_by(col(Contact.follow_up_due_at))
            .limit(500)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    sent = 0
    for contact in due_follow_ups(candidates, now):
        client = session.get(Client, contact.client_id) if contact.client_id else None
        staff_id = (client.assigned_case_manager_id if client else None) or contact.acknowledged_by
        staff = session.get(Staff, staff_id) if staff_id else None
        contact.follow_up_sent_at = now
        session.add(contact)
        if staff is None:
            # Nobody to text: the due follow-up still shows in the review queue.
            contacts.record_event(
                session=session, contact=contact, kind=EventKind.FOLLOW_UP_UNASSIGNED, at=now
            )
            continue
        team = session.get(Team, contact.team_id)
        enqueue(
            session=session,
            team=team,
            to_number=staff.phone,
            purpose=MessagePurpose.FOLLOW_UP,
            contact_id=contact.id,
            staff_id=staff.id,
            now=now,
            body=_(
                staff.language,
                "Follow-up due for crisis contact #{id} ({number}). Please check in.",
            ).format(id=contact.id, number=contact.from_number),
        )
        contacts.record_event(
            session=session,
            contact=contact,
            kind=EventKind.FOLLOW_UP_SENT,
            at=now,
            staff_id=staff.id,
        )
        sent += 1
    return sent


# ------------------------------------------------------------- review queue

RISK_RANK = {"imminent": 0, "high": 1, "moderate": 2, "low": 3, None: 4}


def follow_up_pending(contact: Contact, now: datetime) -> bool:
    """A follow-up fell due and no supervisor has reviewed the contact since."""
    due = contact.follow_up_due_at
    return (
        due is not None
        and due <= now
        and (contact.reviewed_at is None or contact.reviewed_at < due)
    )


def review_order(contact: Contact, timezone: str, now: datetime) -> tuple:
    """Unanswered and high-risk on top, then follow-ups that fell due, then
    overnight (outside Mon–Fri 09:00–17:00 team time), then by risk, newest first."""
    urgent = (
        contact.status == ContactStatus.UNANSWERED
        or contact.risk_level in ("high", "imminent")
        or contact.priority == "high"
    )
    return (
        0 if urgent else 1,
        0 if follow_up_pending(contact, now) else 1,
        0 if is_after_hours(contact.created_at, timezone) else 1,
        RISK_RANK.get(contact.risk_level, 4),
        -contact.created_at.timestamp(),
    )


def review_queue(*, session: Session, team: Team, now: datetime, limit: int = 200) -> list[Contact]:
    """Contacts no supervisor has reviewed, and reviewed ones whose follow-up
    fell due after the review (two index-backed queries, merged)."""
    unreviewed = session.execute(
        select(Contact)
        .where(col(Contact.team_id) == team.id, col(Contact.reviewed_at).is_(None))
        .order_by(col(Contact.created_at).desc())
        .limit(limit)
    ).scalars()
    follow_ups = session.execute(
        select(Contact)
        .where(
            col(Contact.team_id) == team.id,
            col(Contact.follow_up_due_at).is_not(None),
            col(Contact.follow_up_due_at) <= now,
            col(Contact.reviewed_at).is_not(None),
            col(Contact.reviewed_at) < col(Contact.follow_up_due_at),
        )
        .limit(limit)
    ).scalars()
    rows = {c.id: c for c in [*unreviewed, *follow_ups]}
    return sorted(rows.values(), key=lambda c: review_order(c, team.timezone, now))


def mark_reviewed(
    *, session: Session, principal: Principal, contact: Contact, note: str | None, now: datetime
) -> Contact:
    """A supervisor has looked at this contact in the morning review (audited)."""
    contact.reviewed_at = now
    contact.reviewed_by = principal.actor
    contact.review_note = note
    session.add(contact)
    audit_row(session, principal, "contact.review", contact, team_id=contact.team_id)
    return contact
