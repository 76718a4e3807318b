"""Process settings, read once from the environment (and `.env`).

Names are part of the external contract (the README's Settings table). A broken setting
fails at start with a message naming it, never at 3 a.m. on the first text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import limits
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def _words(value: str) -> frozenset[str]:
    return frozenset(w.strip().upper() for w in value.split(",") if w.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./crisisroute.db"
    public_base_url: str = "http://127.0.0.1:8000"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    messaging_transport: Literal["twilio", "outbox"] | None = None
    escalation_tick_seconds: float = Field(default=1.0, gt=0, le=60)
    # How often the worker looks for recorded texts to route (and the sender
    # for queued messages): the most a text waits before routing starts. At
    # 50 texts/s a look every 0.1 s finds ~5 texts, routed in one transaction
    # (the router waits for company, app.jobs.route_inbox): less
    # CPU a text and a steadier webhook than 0.05 s, for a notification that
    # leaves a few tens of milliseconds later, while staff answer in minutes.
    # The figures are in benchmarks/README.md ("Measured choices").
    inbox_poll_seconds: float = Field(default=0.1, gt=0, le=5)
    # Messages handed to Twilio's API at once per process (one contact's
    # messages always one after another, in order). Twilio takes ~100-300 ms
    # to answer each, so 8 at a time carry ~50 messages a second: fewer than a
    # burst of 50 texts a second queues (an auto-reply and a notification each).
    twilio_send_concurrency: int = Field(default=32, ge=1, le=64)
    # Worker processes `serve` runs (PostgreSQL: each routes and sends, rows
    # are claimed with SKIP LOCKED; SQLite has one writer, so one worker).
    worker_processes: int = Field(default=1, ge=1, le=32)
    # Whether `serve` runs the worker (routing recorded texts, the escalation
    # tick, the outbox dispatcher) beside the web process. `crisisroute worker`
    # runs it alone; several servers may all run it (claims are row-locked),
    # so the default is on.
    run_worker: bool = True
    # Secret for signed plan links and calendar tokens; derived from the Twilio
    # token when unset so a development install needs no extra secret.
    link_secret: str | None = None
    plan_link_hours: float = Field(default=12, gt=0, le=72)
    log_level: str = "INFO"
    # Dialled by /twilio/fallback for a line it has not seen yet (988 Lifeline).
    default_fallback_number: str = "988"
    # The largest request body accepted (413 past it). Twilio's webhooks and
    # every API body are a few kilobytes; a crisis plan at its limits ~300 KB.
    max_request_bytes: int = Field(default=1_000_000, ge=10_000, le=50_000_000)
    # Opens of /plan/{token} and /calendar/{token}.ics, per client address and
    # per token ("N/second|minute|hour"): a person opens a link a few times;
    # guessing tokens takes millions of tries.
    rate_limit_links: str = "30/minute"
    # Webhook requests refused for their signature, per client address and per
    # From number. Correctly signed requests are never counted or limited.
    rate_limit_webhook_refusals: str = "20/minute"
    # The carrier keywords the line's Messaging Service uses (comma-separated,
    # one word each): Twilio blocks a number that sends an opt-out word and
    # unblocks it on an opt-in word, so the service must know the same lists.
    opt_out_words: str = "STOP,STOPALL,UNSUBSCRIBE,CANCEL,END,QUIT,REVOKE,OPTOUT"
    opt_in_words: str = "START,YES,UNSTOP"

    @field_validator("database_url")
    @classmethod
    def _database_url_parses(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a SQLAlchemy URL: {exc}") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("only sqlite:// and postgresql:// URLs are supported")
        return value

    @field_validator("public_base_url", "twilio_api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("rate_limit_links", "rate_limit_webhook_refusals")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError("expected a rate such as 30/minute") from None
        return value

    @field_validator("opt_out_words", "opt_in_words")
    @classmethod
    def _single_words(cls, value: str) -> str:
        # Twilio matches a whole message against single words only.
        for word in value.split(","):
            if word.strip() and not word.strip().isalnum():
                raise ValueError("comma-separated single words (letters and digits) expected")
        return value

    @model_validator(mode="after")
    def _transport_has_credentials(self) -> Settings:
        has_credentials = bool(self.twilio_account_sid and self.twilio_auth_token)
        if self.messaging_transport is None:
            self.messaging_transport = "twilio" if has_credentials else "outbox"
        if self.messaging_transport == "twilio" and not has_credentials:
            raise ValueError(
                "MESSAGING_TRANSPORT=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
            )
        return self

    @property
    def opt_out_set(self) -> frozenset[str]:
        return _words(self.opt_out_words)

    @property
    def opt_in_set(self) -> frozenset[str]:
        return _words(self.opt_in_words)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def signing_secret(self) -> str:
        return self.link_secret or self.twilio_auth_token or "crisisroute-development-only"


def load_settings(**overrides) -> Settings:
    """Build settings, turning pydantic's error into one readable line per field."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
            lines.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(lines)) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
