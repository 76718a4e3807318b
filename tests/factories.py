"""Rows for tests, written straight to the database (not through the API)."""

from __future__ import annotations

import itertools

from app.auth.service import create_key
from app.clients.models import Client, ClientPhone
from app.oncall.models import Rota
from app.teams.models import Staff, Team

_seq = itertools.count(10)


def phone(n: int | None = None) -> str:
    """A fictional but valid North American number: +1 201-555-01xx."""
    n = next(_seq) % 100 if n is None else n
    return f"+1201555{100 + n:04d}" if n < 100 else f"+1201555{n:04d}"


def crisis_line(n: int | None = None) -> str:
    n = next(_seq) % 100 if n is None else n
    return f"+1973555{100 + n:04d}"


def make_team(session, **fields) -> Team:
    values = dict(
        name="Team",
        timezone="America/New_York",
        region="US",
        crisis_line_number=crisis_line(),
        fallback_number="+19085550199",
    )
    values.update(fields)
    team = Team(**values)
    session.add(team)
    session.flush()
    return team


def make_staff(session, team: Team, **fields) -> Staff:
    values = dict(team_id=team.id, name="Staff Member", phone=phone(), role="case_manager")
    values.update(fields)
    staff = Staff(**values)
    session.add(staff)
    session.flush()
    return staff


def make_client(session, team: Team, *, phones=(), **fields) -> Client:
    values = dict(team_id=team.id, preferred_name="Sam")
    values.update(fields)
    client = Client(**values)
    session.add(client)
    session.flush()
    for number, relation in phones:
        session.add(ClientPhone(client_id=client.id, number=number, relation=relation))
    session.flush()
    return client


def make_key(session, role: str, team: Team | None = None, staff: Staff | None = None) -> str:
    _, key = create_key(
        session=session,
        name=f"{role} key",
        role=role,
        team_id=team.id if team else None,
        staff_id=staff.id if staff else None,
    )
    session.flush()
    return key


def make_contact(session, team: Team, *, created_at, events=(), **fields):
    """A contact row as the engine would leave it, with optional timeline
    events given as (kind, at) or (kind, at, extra fields)."""
    from app.contacts.models import Contact, ContactEvent

    values = dict(
        team_id=team.id,
        channel="sms",
        from_number=phone(),
        status="open",
        level=1,
        created_at=created_at,
        updated_at=created_at,
    )
    values.update(fields)
    contact = Contact(**values)
    session.add(contact)
    session.flush()
    for kind, at, *extra in events:
        session.add(
            ContactEvent(contact_id=contact.id, kind=kind, at=at, **(extra[0] if extra else {}))
        )
    session.flush()
    return contact


def one_layer_rota(
    team_id: int,
    participants: list[int],
    *,
    name: str = "Primary",
    priority: int = 1,
    layer: str = "weekly",
    unit: str = "weeks",
    start: str = "2026-01-05T09:00",
) -> Rota:
    """A rota (not yet added) of one unrestricted layer handing on from
    person to person every `unit`, local times in New York."""
    return Rota(
        team_id=team_id,
        name=name,
        priority=priority,
        timezone="America/New_York",
        layers=[
            {
                "name": layer,
                "turn": {"unit": unit, "length": 1},
                "start": start,
                "participants": participants,
                "restrictions": [],
            }
        ],
    )
