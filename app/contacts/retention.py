"""Message retention (HIPAA minimum necessary): after a team's
`message_retention_days`, what people wrote and said is erased — message
bodies, media and recording references, free-text notes — while the contact,
its timeline skeleton (kinds, times, levels, who), its timings and outcomes
stay for the reports.

A contact is erased once it is closed (resolved or unanswered) and has seen
no activity for the retention period; an open conversation is never cut.
Each contact is erased once (`messages_erased_at`), so a daily run touches
only what became due since the last one. Every run is audited with counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlmodel import Session, col

from app.auth.service import SYSTEM, audit_row
from app.clients.models import Client, ClientEvent
from app.contacts.models import Contact, ContactEvent, ContactStatus
from app.db import rowcount
from app.escalation.notices import claim_once
from app.messaging.models import InboxMessage, OutboundMessage
from app.teams.models import Team

# Timeline data that is what someone wrote, said or sent; every other key
# (kind, level, staff, status, outcome, risk level, referrals' count) stays.
ERASED_KEYS = frozenset(
    {
        "body",
        "text",
        "notes",
        "resolution_notes",
        "review_note",
        "media",
        "recording_url",
        "recording_sid",
    }
)
CLOSED = (ContactStatus.RESOLVED, ContactStatus.UNANSWERED)
# Contacts erased per transaction: a year of a busy team is erased in steps
# that each hold the write lock briefly.
BATCH = 500


@dataclass
class PurgeCounts:
    contacts: int = 0
    events: int = 0
    outbound_messages: int = 0
    inbox_messages: int = 0
    client_event_notes: int = 0

    def add(self, other: PurgeCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


def cutoff_for(team: Team, now: datetime) -> datetime:
    return now - timedelta(days=team.message_retention_days)


def _due_contacts(session: Session, team: Team, cutoff: datetime, limit: int | None):
    query = (
        select(col(Contact.id))
        .where(
            col(Contact.team_id) == team.id,
            col(Contact.created_at) < cutoff,
            col(Contact.updated_at) < cutoff,
            col(Contact.status).in_(CLOSED),
            col(Contact.messages_erased_at).is_(None),
        )
        .order_by(col(Contact.id))
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def _erase_contacts(session: Session, contact_ids: list[int], now: datetime) -> PurgeCounts:
    counts = PurgeCounts(contacts=len(contact_ids))
    for event in session.execute(
        select(ContactEvent).where(col(ContactEvent.contact_id).in_(contact_ids))
    ).scalars():
        data = event.data or {}
        if ERASED_KEYS & data.keys():
            # The one sanctioned change to a timeline event: its words go,
            # the fact that it happened stays.
            event.data = {
                **{k: v for k, v in data.items() if k not in ERASED_KEYS},
                "erased": True,
            }
            session.add(event)
            counts.events += 1
    counts.outbound_messages += rowcount(
        session.execute(
            update(OutboundMessage)
            .where(
                col(OutboundMessage.contact_id).in_(contact_ids), col(OutboundMessage.body) != ""
            )
            .values(body="")
        )
    )
    session.execute(
        update(Contact)
        .where(col(Contact.id).in_(contact_ids))
        .values(resolution_notes=None, review_note=None, messages_erased_at=now)
    )
    return counts


def _count_due(session: Session, team: Team, cutoff: datetime) -> PurgeCounts:
    ids = _due_contacts(session, team, cutoff, None)
    counts = PurgeCounts(contacts=len(ids))
    if ids:
        for data in session.execute(
            select(col(ContactEvent.data)).where(col(ContactEvent.contact_id).in_(ids))
        ).scalars():
            counts.events += bool(ERASED_KEYS & (data or {}).keys())
        counts.outbound_messages = session.execute(
            select(func.count())
            .select_from(OutboundMessage)
            .where(col(OutboundMessage.contact_id).in_(ids), col(OutboundMessage.body) != "")
        ).scalar_one()
    counts.outbound_messages += session.execute(
        select(func.count()).select_from(OutboundMessage).where(*_loose_outbound(team, cutoff))
    ).scalar_one()
    counts.inbox_messages = session.execute(
        select(func.count()).select_from(InboxMessage).where(*_old_inbox(team, cutoff))
    ).scalar_one()
    counts.client_event_notes = session.execute(
        select(func.count()).select_from(ClientEvent).where(*_old_client_notes(team, cutoff))
    ).scalar_one()
    return counts


def _loose_outbound(team: Team, cutoff: datetime) -> tuple[ColumnElement[bool], ...]:
    """Messages of no contact (notices, alerts) older than the cutoff."""
    return (
        col(OutboundMessage.team_id) == team.id,
        col(OutboundMessage.contact_id).is_(None),
        col(OutboundMessage.created_at) < cutoff,
        col(OutboundMessage.body) != "",
    )


def _old_inbox(team: Team, cutoff: datetime) -> tuple[ColumnElement[bool], ...]:
    """Routed texts to the team's line older than the cutoff (their words
    live on in the contact's timeline until that is erased too)."""
    return (
        col(InboxMessage.to_number) == team.crisis_line_number,
        col(InboxMessage.received_at) < cutoff,
        col(InboxMessage.processed_at).is_not(None),
        col(InboxMessage.body) != "",
    )


def _old_client_notes(team: Team, cutoff: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        col(ClientEvent.client_id).in_(
            select(col(Client.id)).where(col(Client.team_id) == team.id)
        ),
        col(ClientEvent.created_at) < cutoff,
        col(ClientEvent.notes).is_not(None),
    )


def purge_team(
    *, session: Session, team: Team, now: datetime, dry_run: bool = False
) -> PurgeCounts:
    """Erase (or, dry, count) what the team keeps past its retention. Commits
    after each batch of contacts when not dry; audits the run with its counts."""
    cutoff = cutoff_for(team, now)
    if dry_run:
        return _count_due(session, team, cutoff)
    counts = PurgeCounts()
    while ids := _due_contacts(session, team, cutoff, BATCH):
        counts.add(_erase_contacts(session, ids, now))
        session.commit()
    counts.outbound_messages += rowcount(
        session.execute(
            update(OutboundMessage).where(*_loose_outbound(team, cutoff)).values(body="")
        )
    )
    counts.inbox_messages = rowcount(
        session.execute(update(InboxMessage).where(*_old_inbox(team, cutoff)).values(body=""))
    )
    counts.client_event_notes = rowcount(
        session.execute(
            update(ClientEvent)
            .where(*_old_client_notes(team, cutoff))
            .values(notes=None)
            .execution_options(synchronize_session=False)
        )
    )
    audit_row(
        session,
        SYSTEM,
        "retention.purge",
        team,
        record_type="team",
        team_id=team.id,
        detail={
            "cutoff": cutoff.isoformat(),
            "retention_days": team.message_retention_days,
            **asdict(counts),
        },
    )
    session.commit()
    return counts


def purge_due(*, session: Session, now: datetime) -> dict[int, PurgeCounts]:
    """The daily run: each team once per UTC day, whichever instance gets
    there first (the claim is a unique row, as for the daily notices)."""
    done = {}
    for team in list(session.execute(select(Team).order_by(col(Team.id))).scalars()):
        if claim_once(session, f"retention:{team.id}:{now.date().isoformat()}", team.id):
            done[team.id] = purge_team(session=session, team=team, now=now)
    return done
