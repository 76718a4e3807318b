"""Real `crisisroute serve` subprocesses, a Twilio stand-in and database
facts for the reliability suites. Every server binds 127.0.0.1 on a free port
and is killed at the end of its test, whatever happens."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from benchmarks.common import (
    Server,
    TwilioStandIn,
    closed_loop,
    migrated_database,
    notification_ref,
    pg_database,
    seed_world,
    sms_params,
)

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: starts real server subprocesses (select with -m slow / -m 'not slow')"
    )
    config.addinivalue_line(
        "markers", "soak: long runs in tests/soak, collected only with CRISISROUTE_SOAK=1"
    )


@pytest.fixture
def stand_in():
    twilio = TwilioStandIn(hang_seconds=11).start()
    yield twilio
    twilio.stop()


@pytest.fixture
def servers():
    """Start servers through `servers.start(...)`; all are stopped at the end."""
    started: list[Server] = []

    class Servers:
        def start(self, **kwargs) -> Server:
            server = Server(**kwargs)
            started.append(server)
            return server.start()

        def make(self, **kwargs) -> Server:
            server = Server(**kwargs)
            started.append(server)
            return server

    yield Servers()
    for server in started:
        server.stop()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'reliability.db'}"


@pytest.fixture
def pg_url():
    """A database of our own on TEST_DATABASE_URL's server, dropped after."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL not set: PostgreSQL reliability tests skipped")
    with pg_database(f"crisisroute_proof_{uuid.uuid4().hex[:8]}", TEST_DATABASE_URL) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reliability.db'}"
        return
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL not set: PostgreSQL reliability tests skipped")
    with pg_database(f"crisisroute_proof_{uuid.uuid4().hex[:8]}", TEST_DATABASE_URL) as url:
        yield url


def seed(url: str, **kwargs):
    database = migrated_database(url)
    try:
        return seed_world(database, **kwargs)
    finally:
        database.engine.dispose()


def send(
    server: Server, requests: list[tuple[str, dict]], concurrency: int = 50, max_seconds: float = 60
):
    return asyncio.run(
        closed_loop(
            base_url=server.url,
            path="/twilio/sms",
            requests=requests,
            concurrency=concurrency,
            max_seconds=max_seconds,
        )
    )


def texts(world, senders: list[str], body: str = "please call me") -> list[tuple[str, dict]]:
    return [(n, sms_params(n, world.line, body)) for n in senders]


@dataclass
class Facts:
    contacts: list
    events: list
    messages: list
    inbox: list = field(default_factory=list)
    landed: int = (
        0  # SQLite: texts the webhook wrote that the router has not yet taken into the inbox
    )

    def escalations(self) -> Counter:
        """(contact id, to level) -> how many times it was escalated there."""
        return Counter(
            (e.contact_id, e.data.get("to_level")) for e in self.events if e.kind == "escalated"
        )

    def notify_rows(self) -> Counter:
        return Counter(
            (m.contact_id, m.level, m.to_number) for m in self.messages if m.purpose == "notify"
        )

    def unsent(self) -> list:
        """What is still to do: texts not yet routed, then messages not yet sent."""
        return (
            [m for m in self.inbox if m.processed_at is None]
            + ["landed"] * self.landed
            + [m for m in self.messages if m.status in ("pending", "sending")]
        )


def facts(url: str) -> Facts:
    import app.models  # noqa: F401
    from app.contacts.models import Contact, ContactEvent
    from app.db import Database
    from app.inbound.landing import InboxLanding
    from app.messaging.models import InboxMessage, OutboundMessage

    database = Database.from_url(url)
    landing = InboxLanding.beside(database)
    try:
        landed = landing.waiting() if landing is not None else 0
        with database.session() as s:
            return Facts(
                landed=landed,
                contacts=list(s.execute(select(Contact).order_by(Contact.id)).scalars()),
                events=list(s.execute(select(ContactEvent).order_by(ContactEvent.id)).scalars()),
                messages=list(
                    s.execute(select(OutboundMessage).order_by(OutboundMessage.id)).scalars()
                ),
                inbox=list(s.execute(select(InboxMessage).order_by(InboxMessage.id)).scalars()),
            )
    finally:
        database.engine.dispose()
        if landing is not None:
            landing.close()


def arrivals_by_notification(stand_in: TwilioStandIn) -> dict[tuple[int, int, str], list]:
    """(contact id, level, staff phone) -> arrivals of that staff notification."""
    found: dict[tuple[int, int, str], list] = {}
    for arrival in stand_in.accepted:
        ref = notification_ref(arrival.body)
        if ref:
            found.setdefault((ref[0], ref[1], arrival.to), []).append(arrival)
    return found
