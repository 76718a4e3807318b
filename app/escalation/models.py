from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from app.db import utcnow


class PageStep(SQLModel, table=True):
    """One notification rule of one person on one page of a contact: "text
    Casey at once", "call Casey after 60 s". Written when the level is paged;
    a rule due later waits here (`due_at`) and the tick claims it like an
    escalation (FOR UPDATE SKIP LOCKED), so it fires once however many
    instances run, and not at all once someone has acknowledged."""

    __tablename__ = "page_step"
    __table_args__ = (
        # The tick's "what is due" stays an index lookup however many fired rows accumulate.
        Index(
            "ix_page_step_due",
            "due_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    # None until the row is inserted; typed int, as every row the code reads is stored.
    id: int = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    staff_id: int = Field(foreign_key="staff.id")
    level: int
    # notify (a level of the plan) | alert (the unanswered alert to supervisors)
    purpose: str = Field(max_length=20)
    position: int  # the rule's place in the person's effective rules
    channel: str = Field(max_length=10)  # sms | call
    after_seconds: int
    due_at: datetime
    # pending | fired | suppressed (opted out) | stopped (acknowledged, closed or moved on)
    status: str = Field(default="pending", max_length=20)
    message_id: int | None = Field(default=None, foreign_key="outbound_message.id")
    fired_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
