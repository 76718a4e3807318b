from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import utcnow

PHONE_RELATIONS = ("self", "family", "guardian", "other")
PLAN_SECTIONS = (
    "warning_signs",
    "coping_strategies",
    "social_supports",
    "people_to_call",
    "professionals",
    "safe_environment",
    "reasons_for_living",
)


class Client(SQLModel, table=True):
    id: int = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    preferred_name: str = Field(max_length=100)
    assigned_case_manager_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    backup_case_manager_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    status: str = Field(default="active", max_length=20)  # active | discharged
    # BCP 47 primary language (`es`); None: the team's default.
    language: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class ClientPhone(SQLModel, table=True):
    __tablename__ = "client_phone"

    id: int = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    number: str = Field(max_length=20, index=True)  # E.164
    relation: str = Field(max_length=20)
    name: str | None = Field(default=None, max_length=200)
    # The language of whoever uses this number (a parent may differ from
    # the client); None: the client's.
    language: str | None = Field(default=None, max_length=16)


class CrisisPlan(SQLModel, table=True):
    """One version of a client's safety plan. Versions are never changed."""

    __tablename__ = "crisis_plan"
    __table_args__ = (UniqueConstraint("client_id", "version"),)

    id: int = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    version: int
    sections: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    notes: str | None = None
    preferred_hospital: str | None = Field(default=None, max_length=200)
    advance_directive_notes: str | None = None
    created_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


class PlanLink(SQLModel, table=True):
    """A short-lived link for on-call staff phones: a contact's conversation
    and its client's current plan (no contact: the plan alone; no client: an
    unknown caller's conversation alone)."""

    __tablename__ = "plan_link"

    id: int = Field(default=None, primary_key=True)
    client_id: int | None = Field(default=None, foreign_key="client.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    contact_id: int | None = None
    expires_at: datetime
    revoked_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ClientEvent(SQLModel, table=True):
    """Dated events in a client's life the outcome reports count."""

    __tablename__ = "client_event"

    id: int = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    kind: str = Field(max_length=40)
    at: datetime = Field(index=True)
    notes: str | None = None
    created_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
