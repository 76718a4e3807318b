from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.db import utcnow


class Role(StrEnum):
    """What an API key or a console session may do (`ApiKey.role`, `Principal.role`)."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    CASE_MANAGER = "case_manager"


ROLES = tuple(Role)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    # None until the row is inserted; typed int, as every row the code reads is stored.
    id: int = Field(default=None, primary_key=True)
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
    # A key with an expiry stops working at that instant, like a revoked one.
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    # Coarse on purpose (see app.auth.service.LAST_USED_EVERY): a write per
    # request would make every read a write.
    last_used_at: datetime | None = None


class AuditLog(SQLModel, table=True):
    """Who did what to which record, when. Append-only."""

    __tablename__ = "audit_log"

    id: int = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=100)  # "key:12", "plan-link:5", "system", "cli"
    actor_role: str | None = Field(default=None, max_length=20)
    team_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=60)  # "crisis_plan.read", "rota.update", …
    record_type: str = Field(max_length=40)
    record_id: int | None = None
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class ConsoleSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256
    is stored, so a copy of the database signs nobody in. The session names a
    person (staff) or, for an admin without a staff record, the API key that
    signed in; who they are and what they may do is read again on every
    request, so a deactivation, a role change or a revoked key holds at once."""

    __tablename__ = "console_session"

    id: int = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class SignInCode(SQLModel, table=True):
    """One request for a texted sign-in code. A row is written for every
    request, known number or not, so the answer and the rate limits are the
    same for both. Numbers and addresses are stored as keyed hashes only."""

    __tablename__ = "sign_in_code"

    id: int = Field(default=None, primary_key=True)
    # Hash of the random token in the browser's pending sign-in cookie.
    attempt_hash: str = Field(max_length=64, unique=True)
    phone_hash: str = Field(max_length=64, index=True)
    address_hash: str = Field(max_length=64, index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    code_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    expires_at: datetime
    attempts: int = 0
    locked_until: datetime | None = None
    used_at: datetime | None = None
