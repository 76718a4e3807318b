"""What an instance holds besides the app: settings, database, clock,
outbound transport and dispatcher, and the static fallback map."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

import structlog
from fastapi import Depends, Request
from sqlalchemy import select
from sqlmodel import Session, col

from app.db import Database, utcnow
from app.escalation.failures import on_message_failed
from app.inbound.inbox import Inbox
from app.messaging.dispatcher import Dispatcher
from app.messaging.senders import SmsSender, build_sender
from app.settings import Settings
from app.teams.models import Team

log = structlog.get_logger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    sender: SmsSender
    dispatcher: Dispatcher
    # Where the webhook records texts and the router claims them.
    inbox: Inbox
    clock: Callable[[], datetime] = utcnow
    # crisis line -> external fallback number. Read at start and refreshed by
    # the tick, so /twilio/fallback answers while the database is down.
    fallback_numbers: dict[str, str] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock()

    def refresh_fallback_numbers(self) -> None:
        try:
            with self.db.session() as session:
                rows = session.execute(
                    select(col(Team.crisis_line_number), col(Team.fallback_number))
                ).all()
            self.fallback_numbers = {line: fallback for line, fallback in rows}
        except Exception as exc:  # keep the last good map
            log.warning("fallback_map_refresh_failed", error=type(exc).__name__)

    def is_crisis_line(self, number: str) -> bool:
        """A team's crisis line? From the map when it is there (no query on a
        webhook's path), else asked of the database: a team created a moment
        ago already takes texts."""
        if number in self.fallback_numbers:
            return True
        with self.db.session() as session:
            fallback = (
                session.execute(
                    select(col(Team.fallback_number)).where(col(Team.crisis_line_number) == number)
                )
                .scalars()
                .first()
            )
        if fallback is None:
            return False
        self.fallback_numbers = {**self.fallback_numbers, number: fallback}
        return True

    def close(self) -> None:
        self.dispatcher.close()
        self.sender.close()
        self.inbox.close()


def build_runtime(
    settings: Settings,
    db: Database,
    *,
    sender: SmsSender | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Runtime:
    clock = clock or utcnow
    sender = sender or build_sender(settings)
    runtime_ref: dict = {}

    def on_failure(session: Session, message, now: datetime):
        on_message_failed(session, message, now, settings)

    dispatcher = Dispatcher(
        db=db,
        sender=sender,
        status_callback_url=f"{settings.public_base_url}/twilio/status",
        call_status_callback_url=f"{settings.public_base_url}/twilio/voice/page-status",
        clock=lambda: runtime_ref["runtime"].now(),
        on_failure=on_failure,
        concurrency=settings.twilio_send_concurrency,
    )
    runtime = Runtime(
        settings=settings,
        db=db,
        sender=sender,
        dispatcher=dispatcher,
        clock=clock,
        inbox=Inbox.beside(db),
    )
    runtime_ref["runtime"] = runtime
    runtime.refresh_fallback_numbers()
    return runtime


def runtime_of(request: Request) -> Runtime:
    """The runtime `app.main.create_app` gave this app."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _runtime(request: Request) -> Runtime:
    # A coroutine: FastAPI runs a plain function dependency in its thread pool.
    return runtime_of(request)


# What a route takes to reach the settings, the database and the clock.
RuntimeDep = Annotated[Runtime, Depends(_runtime)]
