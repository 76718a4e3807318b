"""What a person does to a contact, whether through the API or the console:
one function per action. Each locks the contact, changes it through
app.contacts.service (or the outcomes service), and writes the audit row, so
both front doors behave the same. Access is checked before, by the caller,
with `app.contacts.router.load_contact`; nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app.auth.service import Principal, audit_row
from app.contacts import service as contacts
from app.contacts.holders import holder_for
from app.contacts.models import Contact, ContactStatus, EventKind
from app.errors import Conflict, Invalid
from app.outcomes import service as outcomes


def _lock(session: Session, contact_id: int) -> Contact:
    contact = contacts.lock_contact(session=session, contact_id=contact_id)
    assert contact is not None  # the caller loaded it before acting
    return contact


def acknowledge_as(
    *,
    session: Session,
    principal: Principal,
    contact_id: int,
    now: datetime,
    via: str,
    staff_id: int | None = None,
) -> Contact:
    """Take the contact (escalation stops). A person holds it: `staff_id`, else
    the principal's own staff member (app.contacts.holders.holder_for)."""
    contact = _lock(session, contact_id)
    if contact.status not in (ContactStatus.OPEN, ContactStatus.UNANSWERED):
        raise Conflict(
            f"contact is {contact.status}; only open or unanswered contacts can be acknowledged"
        )
    holder = holder_for(
        session=session, principal=principal, team_id=contact.team_id, staff_id=staff_id
    )
    if contact.status == ContactStatus.UNANSWERED:
        contact.status = ContactStatus.OPEN
    contacts.acknowledge(
        session=session,
        contact=contact,
        staff_id=holder.id,
        at=now,
        via=via,
        actor=principal.actor,
    )
    audit_row(session, principal, "contact.acknowledge", contact, team_id=contact.team_id)
    return contact


def resolve_as(
    *,
    session: Session,
    principal: Principal,
    contact_id: int,
    details: dict,
    now: datetime,
    via: str,
    staff_id: int | None = None,
) -> Contact:
    """Close a contact with its outcome (details validated by
    app.outcomes.schemas.ResolveIn), or complete one closed by SMS. Closing
    is done by a person (`staff_id`, else the principal's); completing a
    closed one's details is not."""
    contact = _lock(session, contact_id)
    by = principal.staff_id
    if contact.status != ContactStatus.RESOLVED or staff_id is not None:
        by = holder_for(
            session=session, principal=principal, team_id=contact.team_id, staff_id=staff_id
        ).id
    outcomes.resolve_contact(
        session=session,
        contact=contact,
        details=dict(details),
        staff_id=by,
        now=now,
        actor=principal.actor,
        via=via,
    )
    audit_row(
        session,
        principal,
        "contact.resolve",
        contact,
        team_id=contact.team_id,
        detail={"outcome": details.get("outcome"), "risk_level": details.get("risk_level")},
    )
    return contact


NOTE_MAX = 2000


def add_note(
    *, session: Session, principal: Principal, contact_id: int, text: str, now: datetime
) -> Contact:
    """A note on the timeline (for colleagues; the caller never sees it)."""
    text = text.strip()
    if not text:
        raise Invalid("text", "write the note first")
    if len(text) > NOTE_MAX:
        raise Invalid("text", f"at most {NOTE_MAX} characters")
    contact = _lock(session, contact_id)
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.NOTE,
        at=now,
        staff_id=principal.staff_id,
        data={"text": text, "actor": principal.actor},
    )
    audit_row(session, principal, "contact.note", contact, team_id=contact.team_id)
    return contact
