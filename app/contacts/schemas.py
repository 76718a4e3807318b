from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventPublic(BaseModel):
    id: int
    at: datetime
    kind: str
    staff_id: int | None = None
    level: int | None = None
    data: dict[str, Any] = {}


class HolderPublic(BaseModel):
    """The person who holds (or last held) the contact."""

    id: int
    name: str


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_id: int | None = Field(
        default=None,
        description="who takes the contact; required unless the key is bound to a staff member",
    )


class ContactPublic(BaseModel):
    id: int
    team_id: int
    channel: str
    from_number: str
    client_id: int | None
    candidate_client_ids: list[int]
    caller_relation: str | None
    status: str
    priority: str
    # The conversation's language (`es`): staff see it before answering.
    language: str
    level: int
    plan: list[dict[str, Any]]
    next_escalation_at: datetime | None
    acknowledged_by: int | None
    holder: HolderPublic | None = None
    acknowledged_at: datetime | None
    first_response_at: datetime | None
    needs_callback: bool
    resolved_at: datetime | None
    outcome: str | None
    risk_level: str | None
    caller_type: str | None
    created_at: datetime
    updated_at: datetime


class PageRulePublic(BaseModel):
    channel: str  # sms | call
    after_seconds: int
    fired: bool
    fired_at: datetime | None
    # waiting, stopped, opted out; an SMS's delivery status; a call's:
    # pressed 1, pressed 2 (passed), answered without 1, busy, no-answer, failed, not needed
    outcome: str


class PagedPersonPublic(BaseModel):
    """One person paged for the contact at one level: their rules and what happened."""

    staff_id: int
    name: str | None
    level: int
    purpose: str  # notify (a level) | alert (nobody answered)
    rules: list[PageRulePublic]


class ContactDetail(ContactPublic):
    events: list[EventPublic]
    pages: list[PagedPersonPublic] = []


class ContactPage(BaseModel):
    items: list[ContactPublic]
    next_offset: int | None
