"""What the sender's tests build again and again: a text contact, a message
queued about it, a sender (Dispatcher) on a fixed clock, a fresh database file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from app import migrations
from app.contacts.models import Contact
from app.db import Database
from app.messaging.dispatcher import Dispatcher
from app.messaging.outbox import enqueue
from app.teams.models import Team

NOW = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
STATUS_CALLBACK = "https://x/twilio/status"


def sms_contact(session: Session, team: Team, number: str) -> Contact:
    """A text contact from `number`, flushed (it has its id)."""
    contact = Contact(
        team_id=team.id, channel="sms", from_number=number, created_at=NOW, updated_at=NOW
    )
    session.add(contact)
    session.flush()
    return contact


def queue(
    session: Session,
    team: Team,
    contact: Contact,
    body: str,
    *,
    to: str | None = None,
    purpose: str = "relay",
    level: int | None = None,
) -> int:
    """A message about `contact` queued at NOW (to the contact's number
    unless `to` says otherwise); its id."""
    message = enqueue(
        session=session,
        team=team,
        to_number=to or contact.from_number,
        body=body,
        purpose=purpose,
        contact_id=contact.id,
        level=level,
        now=NOW,
    )
    assert message is not None, "the recipient has opted out"
    return message.id


def make_sender(
    database: Database, twilio, kind: type[Dispatcher] = Dispatcher, **options
) -> Dispatcher:
    """A sender of `database`'s outbox through `twilio`, its clock at NOW."""
    return kind(
        db=database,
        sender=twilio,
        status_callback_url=STATUS_CALLBACK,
        clock=lambda: NOW,
        **options,
    )


def fresh_database(path: Path) -> Database:
    """A database file at `path` with the whole schema."""
    database = Database.from_url(f"sqlite:///{path}")
    migrations.upgrade(database.engine)
    return database
