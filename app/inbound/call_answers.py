"""What the caller or a staff leg hears next: the values the call's use case
(`call_opening`, `call_progress`, `voicemail`) returns and app.twilio.voice
renders as TwiML. They carry no decision of their own."""

from __future__ import annotations

from dataclasses import dataclass

from app.escalation import voice_chain as chain


@dataclass(frozen=True)
class Dial:
    """One step of the chain for the caller: staff phones, the voicemail,
    the external fallback, or the end."""

    contact_id: int
    step: chain.DialStep
    phones: tuple[tuple[int, str], ...]  # (staff id, phone) rung at once, at most ten
    timeout_seconds: int
    caller_id: str  # the crisis line, so staff phones show the line they know
    intro: str | None
    language: str  # what the caller hears every prompt in
    after_fallback_status: str | None = None


@dataclass(frozen=True)
class Screen:
    """A staff leg picked up: who is calling (never clinical detail), press 1."""

    contact_id: int
    level: int
    staff_id: int
    who: str
    language: str  # the staff member's own


@dataclass(frozen=True)
class Bridge:
    """The leg accepted: the caller and the staff member are connected."""


@dataclass(frozen=True)
class Decline:
    """The leg did not accept: it is told so and hung up."""

    language: str = "en"  # the staff member's


@dataclass(frozen=True)
class LanguageMenu:
    """An unknown caller on a team offering several languages: each other
    language offered in itself ("Para español, oprima 2"), one digit, a
    short wait, then the team's default."""

    contact_id: int
    choices: tuple[tuple[str, str], ...]  # (language, digit), in the team's order
    timeout_seconds: int


@dataclass(frozen=True)
class Hangup:
    """Nothing more for the caller."""


Answer = Dial | Screen | Bridge | Decline | Hangup | LanguageMenu
