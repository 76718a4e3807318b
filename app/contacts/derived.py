"""Facts about a contact fixed at the moment it opens, set on every insert
(SMS or voice, whoever creates it): opened after hours in the team's zone,
and whether the same number, or the same client, reached this line in the
7 days before."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, event, or_, select
from sqlalchemy.orm import object_session
from sqlmodel import col

from app.contacts.models import Contact
from app.teams.models import Team

OFFICE_START, OFFICE_END = time(9, 0), time(17, 0)
REPEAT_WINDOW = timedelta(days=7)


def is_after_hours(at: datetime, timezone: str) -> bool:
    """Outside Monday–Friday 09:00–17:00 in the team's zone."""
    local = at.astimezone(ZoneInfo(timezone))
    return local.weekday() >= 5 or not (OFFICE_START <= local.time() < OFFICE_END)


def _team_zone(connection, contact: Contact) -> str | None:
    # The team is nearly always already loaded in the session (routing holds
    # it): read it from the identity map rather than ask the database again.
    session = object_session(contact)
    team = (
        session.identity_map.get(session.identity_key(Team, contact.team_id)) if session else None
    )
    if team is not None:
        return team.timezone
    return connection.execute(
        select(col(Team.timezone)).where(col(Team.id) == contact.team_id)
    ).scalar()


def _earlier_contact(same_caller):
    return (
        select(Contact.id)
        .where(
            Contact.team_id == bindparam("team_id"),
            same_caller,
            Contact.created_at >= bindparam("since"),
            Contact.created_at <= bindparam("until"),
        )
        .limit(1)
    )


# The same number, or the same client from another of their numbers (a
# client and their mother both texting the line the same week). Built once:
# every contact opened asks.
_SAME_NUMBER_BEFORE = _earlier_contact(Contact.from_number == bindparam("number"))
_SAME_NUMBER_OR_CLIENT_BEFORE = _earlier_contact(
    or_(
        col(Contact.from_number) == bindparam("number"),
        col(Contact.client_id) == bindparam("client_id"),
    )
)


@event.listens_for(Contact, "before_insert")
def _derive_on_open(mapper, connection, contact: Contact) -> None:
    zone = _team_zone(connection, contact)
    if zone:
        contact.after_hours = is_after_hours(contact.created_at, zone)
    query = _SAME_NUMBER_OR_CLIENT_BEFORE if contact.client_id is not None else _SAME_NUMBER_BEFORE
    contact.repeat_within_7d = (
        connection.execute(
            query,
            {
                "team_id": contact.team_id,
                "number": contact.from_number,
                "client_id": contact.client_id,
                "since": contact.created_at - REPEAT_WINDOW,
                "until": contact.created_at,
            },
        ).first()
        is not None
    )
