from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.datetimes import Instant
from app.escalation import notify_rules
from app.oncall.schemas import HHMM, DayName


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NotifyRule(Strict):
    """One way to wake a person when they are paged."""

    channel: Literal["sms", "call"]
    after_seconds: int = Field(ge=0, le=600)


class TeamCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(min_length=1, max_length=64)
    crisis_line_number: str = Field(min_length=3, max_length=40)
    fallback_number: str = Field(min_length=3, max_length=40)
    caseload_limit: int = Field(default=20, ge=1, le=200)
    region: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    ack_timeout_seconds: int = Field(default=300, ge=30, le=3600)
    priority_ack_timeout_seconds: int = Field(default=120, ge=30, le=3600)
    dial_timeout_seconds: int = Field(default=20, ge=5, le=60)
    reply_timeout_seconds: int = Field(default=600, ge=120, le=3600)
    unanswered_repeat_seconds: int = Field(default=900, ge=60, le=86400)
    notify_include_text: bool = True
    auto_reply_text: str | None = Field(default=None, max_length=640)
    fallback_text: str | None = Field(default=None, max_length=640)
    voice_greeting: str | None = Field(default=None, max_length=640)
    voicemail_enabled: bool = False
    priority_words: list[str] | None = Field(default=None, max_length=200)
    default_language: str | None = Field(default=None, max_length=35)
    languages: list[str] | None = Field(default=None, max_length=20)
    # {"es": {"auto_reply_text": …, "fallback_text": …, "voice_greeting": …}}
    custom_texts: dict[str, dict[str, str | None]] | None = None
    # {"es": ["me quiero morir", …]}; "en" is `priority_words`
    priority_words_by_language: dict[str, list[str]] | None = None
    # Page an on-call person who speaks the contact's language first.
    page_speakers_first: bool | None = None
    message_retention_days: int = Field(default=365, ge=30, le=3650)
    priority_notify_minimum: list[NotifyRule] | None = Field(default=None, max_length=10)


class TeamUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    fallback_number: str | None = Field(default=None, min_length=3, max_length=40)
    caseload_limit: int | None = Field(default=None, ge=1, le=200)
    ack_timeout_seconds: int | None = Field(default=None, ge=30, le=3600)
    priority_ack_timeout_seconds: int | None = Field(default=None, ge=30, le=3600)
    dial_timeout_seconds: int | None = Field(default=None, ge=5, le=60)
    reply_timeout_seconds: int | None = Field(
        default=None,
        ge=120,
        le=3600,
        description="how long the holder has to answer a client's new text before being "
        "paged again; after a second wait the contact passes to the next level",
    )
    unanswered_repeat_seconds: int | None = Field(
        default=None,
        ge=60,
        le=86400,
        description="how often supervisors are alerted again about an unanswered contact",
    )
    notify_include_text: bool | None = Field(
        default=None,
        description="a level's first notification carries the client's first words "
        "(up to two SMS segments); false: only the link",
    )
    auto_reply_text: str | None = Field(default=None, max_length=640)
    fallback_text: str | None = Field(default=None, max_length=640)
    voice_greeting: str | None = Field(default=None, max_length=640)
    voicemail_enabled: bool | None = None
    priority_words: list[str] | None = Field(default=None, max_length=200)
    escalation_policy: list[dict] | None = None
    default_language: str | None = Field(default=None, max_length=35)
    languages: list[str] | None = Field(default=None, max_length=20)
    # {"es": {"auto_reply_text": …, "fallback_text": …, "voice_greeting": …}}
    custom_texts: dict[str, dict[str, str | None]] | None = None
    # {"es": ["me quiero morir", …]}; "en" is `priority_words`
    priority_words_by_language: dict[str, list[str]] | None = None
    # Page an on-call person who speaks the contact's language first.
    page_speakers_first: bool | None = None
    message_retention_days: int | None = Field(
        default=None,
        ge=30,
        le=3650,
        description="days after which a closed contact's message bodies, media and notes are erased",
    )
    priority_notify_minimum: list[NotifyRule] | None = Field(default=None, max_length=10)


class TeamPublic(BaseModel):
    id: int
    name: str
    timezone: str
    region: str
    crisis_line_number: str
    fallback_number: str
    caseload_limit: int
    ack_timeout_seconds: int
    priority_ack_timeout_seconds: int
    dial_timeout_seconds: int
    reply_timeout_seconds: int
    unanswered_repeat_seconds: int
    notify_include_text: bool
    auto_reply_text: str
    fallback_text: str
    voice_greeting: str
    voicemail_enabled: bool
    priority_words: list[str]
    priority_words_by_language: dict[str, list[str]]
    default_language: str
    languages: list[str]
    custom_texts: dict[str, dict[str, str]]
    page_speakers_first: bool
    escalation_policy: list[dict] | None
    message_retention_days: int
    priority_notify_minimum: list[dict] | None = None
    created_at: datetime


class WorkingHours(Strict):
    days: list[DayName] = Field(min_length=1)
    start: str = Field(pattern=HHMM)
    end: str = Field(pattern=HHMM)


class StaffCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=3, max_length=40)
    role: Literal["case_manager", "supervisor"]
    working_hours: list[WorkingHours] = Field(default_factory=list, max_length=14)
    language: str | None = Field(default=None, max_length=35)
    languages_spoken: list[str] | None = Field(default=None, max_length=20)
    # Default: an SMS at once, a call after 60 s.
    notify_rules: list[NotifyRule] | None = Field(default=None, min_length=1, max_length=10)


class StaffUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, min_length=3, max_length=40)
    role: Literal["case_manager", "supervisor"] | None = None
    working_hours: list[WorkingHours] | None = Field(default=None, max_length=14)
    active: bool | None = None
    language: str | None = Field(default=None, max_length=35)
    languages_spoken: list[str] | None = Field(default=None, max_length=20)
    notify_rules: list[NotifyRule] | None = Field(default=None, min_length=1, max_length=10)


class StaffPublic(BaseModel):
    id: int
    team_id: int
    name: str
    phone: str
    role: str
    working_hours: list[dict]
    active: bool
    sms_opted_out: bool
    language: str
    languages_spoken: list[str]
    notify_rules: list[dict]
    created_at: datetime

    @field_validator("notify_rules", mode="before")
    @classmethod
    def _defaults_shown(cls, value):
        return [rule.to_json() for rule in notify_rules.parse(value)]


class LeaveCreate(Strict):
    start: Instant
    end: Instant
    reason: str | None = Field(default=None, max_length=200)


class LeavePublic(BaseModel):
    id: int
    staff_id: int
    start: datetime
    end: datetime
    reason: str | None
