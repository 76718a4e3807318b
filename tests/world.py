"""A team with people and rotas, a fake clock, and Twilio's REST API mocked
with respx (every outbound message is recorded as Twilio would receive it)."""

from __future__ import annotations

import itertools
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from sqlalchemy import select

from app import migrations
from app.contacts.models import Contact, ContactEvent
from app.db import make_engine
from tests.conftest import TEST_DATABASE_URL, TWILIO_API, TWILIO_SID
from tests.factories import make_client, make_key, make_staff, make_team, one_layer_rota
from tests.twilio_signing import post_signed

MESSAGES_URL = f"{TWILIO_API}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
CALLS_URL = f"{TWILIO_API}/2010-04-01/Accounts/{TWILIO_SID}/Calls.json"
# A Wednesday, 14:00 in New York: inside office hours.
OFFICE_HOURS = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
ALL_WEEK_OFFICE = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}]


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@dataclass
class Sent:
    to: str
    from_: str
    body: str
    status_callback: str
    sid: str


@dataclass
class Call:
    """An outbound call as Twilio's Calls API received it."""

    to: str
    from_: str
    url: str
    status_callback: str
    timeout: str
    sid: str


@dataclass
class TwilioStub:
    sent: list[Sent] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    fail_next: list[httpx.Response] = field(default_factory=list)
    # Called with each new message before Twilio's answer reaches us (a status
    # callback that overtakes our write of the SID).
    before_answer: object = None
    # Numbers the carrier blocks (they texted STOP): a message to one is
    # refused with 21610 and its number recorded in `refused`.
    carrier_blocked: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    # The respx router itself: a test adds Twilio routes of its own (MMS media).
    mock: object = None

    def to(self, number: str) -> list[Sent]:
        return [m for m in self.sent if m.to == number]

    def calls_to(self, number: str) -> list[Call]:
        return [c for c in self.calls if c.to == number]


@contextmanager
def twilio_mock():
    """Twilio's Messages and Calls APIs, recorded (respx). Like the carrier, a
    message to a number in `carrier_blocked` is refused with 21610."""
    stub = TwilioStub()
    sids = itertools.count(1)

    def create_message(request: httpx.Request) -> httpx.Response:
        if stub.fail_next:
            return stub.fail_next.pop(0)
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form["To"] in stub.carrier_blocked:
            stub.refused.append(form["To"])
            return httpx.Response(
                400,
                json={"code": 21610, "message": "Attempt to send to unsubscribed recipient"},
            )
        sid = f"SM{next(sids):032d}"
        stub.sent.append(
            Sent(
                to=form["To"],
                from_=form["From"],
                body=form["Body"],
                status_callback=form.get("StatusCallback", ""),
                sid=sid,
            )
        )
        if stub.before_answer:
            stub.before_answer(stub.sent[-1])
        return httpx.Response(
            201,
            json={
                "sid": sid,
                "status": "queued",
                "to": form["To"],
                "from": form["From"],
                "body": form["Body"],
                "account_sid": TWILIO_SID,
            },
        )

    call_sids = itertools.count(1)

    def create_call(request: httpx.Request) -> httpx.Response:
        if stub.fail_next:
            return stub.fail_next.pop(0)
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        sid = f"CA{next(call_sids):032d}"
        stub.calls.append(
            Call(
                to=form["To"],
                from_=form["From"],
                url=form["Url"],
                status_callback=form.get("StatusCallback", ""),
                timeout=form.get("Timeout", ""),
                sid=sid,
            )
        )
        return httpx.Response(
            201,
            json={
                "sid": sid,
                "status": "queued",
                "to": form["To"],
                "from": form["From"],
                "account_sid": TWILIO_SID,
            },
        )

    with respx.mock(assert_all_called=False) as mock:
        mock.post(MESSAGES_URL).mock(side_effect=create_message)
        mock.post(CALLS_URL).mock(side_effect=create_call)
        stub.mock = mock
        yield stub


@pytest.fixture
def twilio():
    with twilio_mock() as stub:
        yield stub


@pytest.fixture
def clock(app):
    c = Clock(OFFICE_HOURS)
    app.state.runtime.clock = c
    return c


@dataclass
class World:
    team: object
    other_team: object
    supervisor: object
    case_manager: object
    backup_cm: object
    oncall: object
    client_row: object
    client_phone: str
    family_phone: str
    supervisor_key: str


@pytest.fixture
def world(session, client, twilio, clock) -> World:
    return make_world(session)


def make_world(session) -> World:
    """The team, its people, a client with a family phone and the weekly rota."""
    team = make_team(
        session,
        name="North ICM",
        crisis_line_number="+19735550100",
        fallback_number="+19085550111",
        ack_timeout_seconds=300,
        priority_ack_timeout_seconds=60,
    )
    other = make_team(session, name="South ICM", crisis_line_number="+19735550101")
    supervisor = make_staff(
        session, team, name="Sue Visor", phone="+12015550180", role="supervisor"
    )
    cm = make_staff(
        session, team, name="Casey Manager", phone="+12015550181", working_hours=ALL_WEEK_OFFICE
    )
    backup = make_staff(
        session, team, name="Bea Backup", phone="+12015550182", working_hours=ALL_WEEK_OFFICE
    )
    oncall = make_staff(session, team, name="Owen Call", phone="+12015550183")
    client_row = make_client(
        session,
        team,
        preferred_name="Sam",
        assigned_case_manager_id=cm.id,
        backup_case_manager_id=backup.id,
        phones=[("+12015550150", "self"), ("+12015550151", "family")],
    )
    key = make_key(session, "supervisor", team)
    session.commit()
    # The rota row directly (the rota API has its own tests in tests/oncall).
    session.add(one_layer_rota(team.id, [oncall.id]))
    session.commit()
    return World(
        team=team,
        other_team=other,
        supervisor=supervisor,
        case_manager=cm,
        backup_cm=backup,
        oncall=oncall,
        client_row=client_row,
        client_phone="+12015550150",
        family_phone="+12015550151",
        supervisor_key=key,
    )


_sids = itertools.count(1)


def text_in(
    client,
    world_or_line,
    from_number: str,
    body: str,
    sid: str | None = None,
    *,
    route: bool = True,
):
    """A signed inbound SMS; then, unless `route=False`, what the worker does
    next: route the recorded text and send what that queued."""
    line = (
        world_or_line if isinstance(world_or_line, str) else world_or_line.team.crisis_line_number
    )
    params = {
        "MessageSid": sid or f"SMin{next(_sids):028d}",
        "AccountSid": TWILIO_SID,
        "From": from_number,
        "To": line,
        "Body": body,
        "NumMedia": "0",
    }
    response = post_signed(client, "/twilio/sms", params)
    if route:
        route_inbox(client.app)
    return response


def the_contact(session) -> Contact:
    """The newest contact, read afresh."""
    session.expire_all()
    return session.execute(select(Contact).order_by(Contact.id.desc())).scalars().first()


def kinds(session, contact_id: int) -> list[str]:
    """The kinds of a contact's timeline events, oldest first."""
    return list(
        session.execute(
            select(ContactEvent.kind)
            .where(ContactEvent.contact_id == contact_id)
            .order_by(ContactEvent.id)
        ).scalars()
    )


def only_texts_and_opted_out(session, staff) -> None:
    """The person asked for no texts, and texts were their only way to be woken
    (no call rule): nothing reaches them."""
    staff.sms_opted_out = True
    staff.notify_rules = [{"channel": "sms", "after_seconds": 0}]
    session.add(staff)
    session.commit()


def route_inbox(app) -> None:
    from app.jobs import route_inbox as worker_route_inbox

    worker_route_inbox(app.state.runtime)


def tick(app):
    from app.escalation.tick import tick as engine_tick

    runtime = app.state.runtime
    advanced = engine_tick(db=runtime.db, now=runtime.now(), settings=runtime.settings)
    runtime.dispatcher.drain()
    return advanced


@pytest.fixture
def committed_pg():
    """A PostgreSQL database of its own, migrated, with real commits (no
    rolled-back outer transaction); dropped after."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL not set: PostgreSQL tests with real commits skipped")
    name = f"crisisroute_engines_{os.getpid()}"
    admin = make_engine(TEST_DATABASE_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    url = TEST_DATABASE_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()
