from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.db import utcnow

ROLES = ("admin", "supervisor", "case_manager")


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    # SHA-256 of the key: keys are 256-bit random, so a fast hash is enough and
    # lets a request find its key by one indexed lookup. The key itself is
    # shown once and never stored.
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class AuditLog(SQLModel, table=True):
    """Who did what to which record, when. Append-only."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=100)  # "key:12", "plan-link:5", "system", "cli"
    actor_role: str | None = Field(default=None, max_length=20)
    team_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=60)  # "crisis_plan.read", "rota.update", …
    record_type: str = Field(max_length=40)
    record_id: int | None = None
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
