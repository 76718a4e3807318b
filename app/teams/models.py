from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.db import utcnow
from app.i18n import N_

# English message ids: a team that keeps a default gets it in each caller's
# language from the catalogs.
DEFAULT_AUTO_REPLY = N_(
    "We got your message. A member of your care team is being contacted now. "
    "If you are in immediate danger call 911, or call or text 988."
)
DEFAULT_FALLBACK_TEXT = N_(
    "We could not reach your care team yet. Please call the crisis team at {fallback_number}, "
    "call or text 988, or call 911 if you are in immediate danger."
)
DEFAULT_VOICE_GREETING = N_(
    "You have reached the crisis line. Connecting you to your care team now. "
    "Please stay on the line."
)
# The texts a team may write itself, per language (the English ones are the
# columns of the same name; the others live in `custom_texts`).
TEAM_TEXTS = {
    "auto_reply_text": DEFAULT_AUTO_REPLY,
    "fallback_text": DEFAULT_FALLBACK_TEXT,
    "voice_greeting": DEFAULT_VOICE_GREETING,
}
DEFAULT_PRIORITY_WORDS = [
    "suicide",
    "suicidal",
    "kill myself",
    "end my life",
    "overdose",
    "od",
    "hurt myself",
    "gun",
    "pills",
    "die",
    "can't go on",
    "cant go on",
    "no reason to live",
]
# Spanish, with the spellings people text without accents. Words, not a
# translation: each list is what people in that language actually write.
DEFAULT_PRIORITY_WORDS_ES = [
    "suicidio",
    "suicidarme",
    "suicidarse",
    "me quiero morir",
    "quiero morir",
    "quiero morirme",
    "morirme",
    "me voy a matar",
    "me mato",
    "quiero matarme",
    "matarme",
    "no quiero vivir",
    "no quiero seguir viviendo",
    "acabar con mi vida",
    "quitarme la vida",
    "hacerme daño",
    "hacerme dano",
    "lastimarme",
    "cortarme",
    "sobredosis",
    "pastillas",
    "pistola",
    "no puedo más",
    "no puedo mas",
    "no aguanto más",
    "no aguanto mas",
    "no tengo razón para vivir",
    "no tengo razon para vivir",
]


class Team(SQLModel, table=True):
    # None until the row is inserted; typed int, as every row the code reads is stored.
    id: int = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    region: str = Field(default="US", max_length=2)
    crisis_line_number: str = Field(max_length=20, unique=True)
    fallback_number: str = Field(max_length=20)
    caseload_limit: int = 20
    ack_timeout_seconds: int = 300
    # High-priority contacts (priority words) get this shorter timeout per level.
    priority_ack_timeout_seconds: int = 120
    dial_timeout_seconds: int = 20
    # How long the holder of a contact has to answer a client's new text
    # before they are paged again (and, after a second wait, lose it).
    reply_timeout_seconds: int = 600
    # How often supervisors are alerted again about an unanswered contact.
    unanswered_repeat_seconds: int = 900
    # A level's first notification carries the client's words so far (else only the link).
    notify_include_text: bool = True
    auto_reply_text: str = Field(default=DEFAULT_AUTO_REPLY, max_length=640)
    fallback_text: str = Field(default=DEFAULT_FALLBACK_TEXT, max_length=640)
    voice_greeting: str = Field(default=DEFAULT_VOICE_GREETING, max_length=640)
    voicemail_enabled: bool = False
    priority_words: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PRIORITY_WORDS), sa_column=Column(JSON, nullable=False)
    )
    # Priority words of the other languages ({"es": [...]}); English's are
    # `priority_words`. A text is checked against every list: a Spanish word
    # in a contact marked English still raises priority.
    priority_words_by_language: dict[str, list[str]] = Field(
        default_factory=lambda: {"es": list(DEFAULT_PRIORITY_WORDS_ES)},
        sa_column=Column(JSON, nullable=False),
    )
    # The language an unknown number is answered in, and the languages the
    # team offers (the voice menu offers the others to unknown callers).
    default_language: str = Field(default="en", max_length=16)
    languages: list[str] = Field(
        default_factory=lambda: ["en"], sa_column=Column(JSON, nullable=False)
    )
    # For a contact in a language other than the default, page an on-call
    # person who speaks it before the other on-call levels (app.routing).
    page_speakers_first: bool = False
    # A team's own texts in the languages other than English:
    # {"es": {"auto_reply_text": ..., "fallback_text": ..., "voice_greeting": ...}}
    custom_texts: dict[str, dict[str, str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    # A team's own escalation policy replaces the default plan when set:
    # [{"targets": [{"kind": "staff"|"rota"|"supervisors"|"assigned"|"backup", "id": n}], "timeout_seconds": n}, …]
    escalation_policy: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    # After this many days a closed contact's words (message bodies, media and
    # recording references, notes) are erased; app.contacts.retention.
    message_retention_days: int = Field(default=365, sa_column_kwargs={"server_default": "365"})
    # Rules every person paged for a high-priority contact gets at least, on
    # top of their own (e.g. [{"channel": "call", "after_seconds": 0}]).
    priority_notify_minimum: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON)
    )
    created_at: datetime = Field(default_factory=utcnow)


class StaffRole(StrEnum):
    CASE_MANAGER = "case_manager"
    SUPERVISOR = "supervisor"


class Staff(SQLModel, table=True):
    id: int = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    name: str = Field(max_length=200)
    phone: str = Field(max_length=20, index=True)  # E.164
    role: str = Field(max_length=20)  # case_manager | supervisor
    # [{"days": ["mon", …], "start": "HH:MM", "end": "HH:MM"}] in the team's zone
    working_hours: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    active: bool = True
    # Texted STOP to the crisis line: no SMS may go to them (calls still may).
    sms_opted_out: bool = False
    # How this person is woken when paged (app.escalation.notify_rules):
    # [{"channel": "sms" | "call", "after_seconds": n}]; None means the
    # default, an SMS at once and a call after a minute.
    notify_rules: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    # Unguessable token for subscribing to one's own on-call calendar.
    calendar_token: str | None = Field(default=None, max_length=64, unique=True)
    # The language of what they are sent and hear; and the languages they
    # can speak with a client (shown on WHO, used to page a speaker first).
    language: str = Field(default="en", max_length=16)
    languages_spoken: list[str] = Field(
        default_factory=lambda: ["en"], sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)


class Leave(SQLModel, table=True):
    id: int = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    start: datetime
    end: datetime
    reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
