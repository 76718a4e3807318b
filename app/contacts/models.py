from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.db import utcnow


class ContactStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    UNANSWERED = "unanswered"


class Channel(StrEnum):
    SMS = "sms"
    VOICE = "voice"


class EventKind(StrEnum):
    """What a contact's timeline records (`ContactEvent.kind`)."""

    RECEIVED = "received"
    CALL_RECEIVED = "call_received"
    AUTO_REPLY_SENT = "auto_reply_sent"
    AUTO_REPLY_SUPPRESSED = "auto_reply_suppressed"
    AMBIGUOUS_CALLER = "ambiguous_caller"
    PRIORITY_RAISED = "priority_raised"
    PLANNED = "planned"
    NOTIFIED = "notified"
    NOTIFY_SUPPRESSED = "notify_suppressed"
    LEVEL_SKIPPED = "level_skipped"
    ESCALATED = "escalated"
    FALLBACK_USED = "fallback_used"
    UNANSWERED = "unanswered"
    UNANSWERED_REALERTED = "unanswered_realerted"
    HANDED_OVER = "handed_over"
    HOLDER_REMINDED = "holder_reminded"
    SHIFT_END_ASKED = "shift_end_asked"
    KEPT = "kept"
    DELIVERY_FAILED = "delivery_failed"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    RESOLUTION_UPDATED = "resolution_updated"
    NOTE = "note"
    STAFF_REPLY = "staff_reply"
    RELAYED = "relayed"
    PASSED = "passed"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    DIALLED = "dialled"
    SCREENED = "screened"
    CALL_ACCEPTED = "call_accepted"
    CALL_DECLINED = "call_declined"
    DIAL_RESULT = "dial_result"
    VOICEMAIL_OFFERED = "voicemail_offered"
    VOICEMAIL = "voicemail"
    VOICEMAIL_FAILED = "voicemail_failed"
    CALLER_HUNG_UP = "caller_hung_up"
    CALL_ENDED = "call_ended"
    FOLLOW_UP_UNASSIGNED = "follow_up_unassigned"
    FOLLOW_UP_SENT = "follow_up_sent"
    LANGUAGE_CHANGED = "language_changed"
    LANGUAGE_OFFERED = "language_offered"
    LANGUAGE_CHOSEN = "language_chosen"
    # A person's notification rules (app.escalation.paging): a level's call,
    # the supervisors' unanswered alert, and the legs of a page call.
    CALLED = "called"
    ALERTED = "alerted"
    PAGE_CALL_ANSWERED = "page_call_answered"
    PAGE_CALL_PRESSED = "page_call_pressed"
    PAGE_CALL_ENDED = "page_call_ended"
    # Routing raised on the text until it gave up: opened with the minimal plan.
    ROUTING_FAILED = "routing_failed"


CONTACT_STATUSES = tuple(ContactStatus)
RISK_LEVELS = ("low", "moderate", "high", "imminent")


class Contact(SQLModel, table=True):
    """One crisis contact (an SMS thread or a call). The row is derived state;
    the truth is its append-only event timeline."""

    __table_args__ = (
        # Only a person holds a contact.
        CheckConstraint(
            "status <> 'acknowledged' OR acknowledged_by IS NOT NULL",
            name="acknowledged_has_holder",
        ),
        Index("ix_contact_team_created", "team_id", "created_at"),
        # Serves "the open contact from this number" and "a contact from this number in the last 7 days".
        Index("ix_contact_team_from_created", "team_id", "from_number", "created_at"),
        # The morning review queue: a team's contacts no supervisor has reviewed, newest first.
        Index(
            "ix_contact_review_queue",
            "team_id",
            "created_at",
            postgresql_where=text("reviewed_at IS NULL"),
            sqlite_where=text("reviewed_at IS NULL"),
        ),
        # The follow-up job: follow-ups that are set and not yet sent.
        Index(
            "ix_contact_follow_up_due",
            "follow_up_due_at",
            postgresql_where=text("follow_up_sent_at IS NULL"),
            sqlite_where=text("follow_up_sent_at IS NULL"),
        ),
        # The review queue's due follow-ups (few contacts have one).
        Index(
            "ix_contact_team_follow_up",
            "team_id",
            "follow_up_due_at",
            postgresql_where=text("follow_up_due_at IS NOT NULL"),
            sqlite_where=text("follow_up_due_at IS NOT NULL"),
        ),
    )

    # None until the row is inserted; typed int, as every row the code reads is stored.
    id: int = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    channel: str = Field(max_length=10)  # sms | voice
    from_number: str = Field(max_length=64)  # as the webhook accepts it (migration 0027d)
    client_id: int | None = Field(default=None, foreign_key="client.id", index=True)
    # A number shared by several clients: routed as unknown, candidates listed.
    candidate_client_ids: list[int] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    caller_relation: str | None = Field(default=None, max_length=20)  # self/family/guardian/other
    status: str = Field(default=ContactStatus.OPEN, max_length=20, index=True)
    priority: str = Field(default="normal", max_length=10)  # normal | high
    # The conversation's language (a catalog's code): what the caller reads
    # and hears, and what staff see (`ES`) before answering.
    language: str = Field(default="en", max_length=16)
    # The route plan computed when the contact opened (see app.routing.plan):
    # [{"level": 1, "kind": …, "staff_ids": […], "timeout_seconds": n, "label": …}, …]
    plan: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    level: int = 0  # the plan level last notified (0: none yet)
    next_escalation_at: datetime | None = Field(default=None, index=True)
    acknowledged_by: int | None = Field(default=None, foreign_key="staff.id")
    acknowledged_at: datetime | None = None
    # While acknowledged, `next_escalation_at` is when the holder's reply to
    # the client is due (see app.escalation.handover); this counts the pages
    # already sent about it.
    reply_reminders: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The holder went off duty and was asked to KEEP it: it passes on at this time.
    handover_due_at: datetime | None = Field(default=None, index=True)
    # The holder said KEEP after their shift ended: they are not asked again.
    holder_kept_at: datetime | None = None
    first_response_at: datetime | None = None
    needs_callback: bool = False
    resolved_at: datetime | None = None
    outcome: str | None = Field(default=None, max_length=40)
    risk_level: str | None = Field(default=None, max_length=20)
    caller_type: str | None = Field(default=None, max_length=20)
    emergency_dispatched: bool | None = None
    emergency_confirmed: bool | None = None
    referrals: list[str] | None = Field(default=None, sa_column=Column(JSON))
    resolution_notes: str | None = None
    follow_up_due_at: datetime | None = None
    follow_up_sent_at: datetime | None = None
    reviewed_at: datetime | None = None
    reviewed_by: str | None = Field(default=None, max_length=100)
    review_note: str | None = None
    # Derived when the contact opens (see app.contacts.derived), so reports
    # over a million contacts count flags instead of re-deriving them.
    after_hours: bool = False
    repeat_within_7d: bool = False
    # When retention erased this contact's words (app.contacts.retention).
    messages_erased_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ContactEvent(SQLModel, table=True):
    """An append-only fact on a contact's timeline. Never updated or deleted."""

    __tablename__ = "contact_event"

    id: int = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    kind: str = Field(max_length=40)
    # Makes Twilio's retries idempotent: MessageSid, or "CallSid:step".
    idempotency_key: str | None = Field(default=None, max_length=100, unique=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    level: int | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class NumberLanguage(SQLModel, table=True):
    """The language a number chose or wrote in (ESPAÑOL, a Spanish text, 2
    on the call menu), remembered for its next contact with the team. It
    wins over the client's and the phone's recorded language: it is what
    the person at that number told the line."""

    __tablename__ = "number_language"
    __table_args__ = (UniqueConstraint("team_id", "number"),)

    id: int = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    number: str = Field(max_length=64)
    language: str = Field(max_length=16)
    updated_at: datetime = Field(default_factory=utcnow)
