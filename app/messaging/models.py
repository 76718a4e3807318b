from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.db import utcnow


class OutboxStatus(StrEnum):
    """An outbound message's states of the service's own; Twilio's reports
    (queued, sent, delivered, …) follow them in `STATUS_ORDER`."""

    PENDING = "pending"  # waiting to be handed to Twilio (or for a retry)
    SENDING = "sending"  # claimed by a sender
    STORED = "stored"  # kept by the outbox transport (development, tests)
    FAILED = "failed"  # refused for good


# Twilio's message statuses in the order they may move; a status never moves back.
STATUS_ORDER = {
    "pending": 0,
    "sending": 1,
    "accepted": 2,
    "queued": 3,
    "sending_twilio": 4,
    "sent": 5,
    "stored": 5,
    "delivered": 7,
    "read": 8,
    "undelivered": 7,
    "failed": 7,
}
FINAL_FAILURES = ("undelivered", "failed")
# How a page call's outbox row ends (Twilio's final CallStatus, or
# `canceled` when nobody needed waking by the time it was due).
CALL_ENDED = ("completed", "busy", "no-answer", "failed", "canceled")


class MessagePurpose(StrEnum):
    """Why an outbound SMS is sent (`OutboundMessage.purpose`)."""

    AUTO_REPLY = "auto_reply"
    NOTIFY = "notify"
    RELAY = "relay"
    FALLBACK = "fallback"
    ALERT = "alert"
    HELP = "help"
    COMMAND_REPLY = "command_reply"
    NOTICE = "notice"
    FOLLOW_UP = "follow_up"
    # A page call, not an SMS: `body` is the URL Twilio fetches its TwiML from.
    PAGE_CALL = "page_call"
    # Paging by a person's rules besides a level (app.escalation.paging): the
    # supervisors' repeated "still unanswered", the holder's "the client is
    # waiting" and "your shift ended, KEEP?".
    REALERT = "realert"
    REMIND = "remind"
    KEEP_ASK = "keep_ask"


# Messages that carry a person's own words: a client's words to staff (a
# level's notification, a relay, the holder's reminder) or a staff member's
# words to the client (a relay).
CARRIES_WORDS = frozenset({MessagePurpose.NOTIFY, MessagePurpose.RELAY, MessagePurpose.REMIND})


class OutboundMessage(SQLModel, table=True):
    """The transactional outbox: written with the decision that caused it,
    dispatched right after commit, retried with backoff until Twilio takes it."""

    __tablename__ = "outbound_message"
    __table_args__ = (Index("ix_outbound_message_due", "status", "next_attempt_at"),)

    # None until the row is inserted; typed int, as every row the code reads is stored.
    id: int = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    level: int | None = None
    # auto_reply | notify | relay | fallback | alert | help | command_reply | notice
    purpose: str = Field(max_length=20)
    # A client's number as the webhook accepted it (up to 64 characters).
    to_number: str = Field(max_length=64)
    from_number: str = Field(max_length=64)
    body: str
    status: str = Field(default=OutboxStatus.PENDING, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default_factory=utcnow)
    provider_sid: str | None = Field(default=None, max_length=64, unique=True)
    error_code: str | None = Field(default=None, max_length=20)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SmsOptOut(SQLModel, table=True):
    """A number that texted STOP to a team's crisis line: never message it."""

    __tablename__ = "sms_opt_out"
    __table_args__ = (UniqueConstraint("team_id", "number"),)

    id: int = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    number: str = Field(max_length=64)
    opted_out: bool = True
    updated_at: datetime = Field(default_factory=utcnow)


class SentNotice(SQLModel, table=True):
    """A notice that must go out once: `shift:{rota}:{staff}:{start}` or
    `coverage:{team}:{local date}`. The unique key makes two instances (or a
    restart) send it once."""

    __tablename__ = "sent_notice"

    id: int = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class InboxMessage(SQLModel, table=True):
    """An inbound SMS exactly as Twilio delivered it, written before Twilio is
    answered. The webhook does nothing else; the worker routes pending rows
    (one transaction each: route + mark processed), so a crash, a slow
    database or a burst never loses a text, and Twilio's retries of one
    MessageSid are one row."""

    __tablename__ = "inbox_message"
    __table_args__ = (
        # The worker's "what is left to route" query stays an index lookup
        # however many processed rows accumulate.
        Index(
            "ix_inbox_message_pending",
            "id",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
        # "Is an earlier text from this sender still pending?" is asked of
        # every candidate: an index probe, not a scan of the backlog (a
        # nested-loop scan made a 2,000-text backlog route at 2 a second).
        Index(
            "ix_inbox_message_pending_sender",
            "to_number",
            "from_number",
            "id",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
        # Dead letters (`inbound.dead_letter`): the retry job, the gauge and
        # /stuck read only these, never the routed history.
        Index(
            "ix_inbox_message_stuck",
            "to_number",
            "id",
            postgresql_where=text("outcome = 'stuck'"),
            sqlite_where=text("outcome = 'stuck'"),
        ),
    )

    id: int = Field(default=None, primary_key=True)
    message_sid: str = Field(max_length=64, unique=True)
    to_number: str = Field(max_length=20)  # E.164: which crisis line
    from_number: str = Field(
        max_length=64
    )  # as Twilio sent it; normalised with the team's region when routed
    body: str = ""
    # An MMS's attachments as Twilio listed them: [{"url", "content_type"}].
    media: list[dict[str, str]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    received_at: datetime = Field(default_factory=utcnow)
    processed_at: datetime | None = None
    # what routing did: opened, continued, duplicate, staff_reply, unknown_line,
    # opened_minimal (routing kept failing), stuck (not even that: the dead letter), …
    outcome: str | None = Field(default=None, max_length=30)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=200)


class EarlyStatusCallback(SQLModel, table=True):
    """A status callback for a MessageSid we have not written down yet: Twilio
    may call back before our own write of the SID it just gave us commits.
    Kept until the sender applies it (`results.apply_early_callbacks`), so an early
    "undelivered" still escalates at once; unclaimed ones expire after a day."""

    __tablename__ = "early_status_callback"

    id: int = Field(default=None, primary_key=True)
    provider_sid: str = Field(max_length=64, index=True)
    status: str = Field(max_length=20)
    error_code: str | None = Field(default=None, max_length=20)
    received_at: datetime = Field(default_factory=utcnow, index=True)
