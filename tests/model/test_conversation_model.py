"""The conversation checked against a model, at random.

A hypothesis state machine whose rules are what the world can do to the
service — a client or family member texts, staff reply or send commands, a
page call is answered, time passes, Twilio fails for a while, the process
restarts — driven through signed webhooks, the worker's own jobs and the
recording Twilio stand-in (tests/world.py), with the clock injected. After
every step it checks the project's two rules:

- every text a client sends is, within one level's timeout of the carrier
  working, in a message to a person paged for or holding its contact;
- no contact is open without a holder or a pending deadline, and a holder is
  a person who can be reached;
- nothing is sent to a number the carrier blocks (it texted STOP);
- a contact is `unanswered` only after every level of its plan was really
  tried (a notification Twilio took, the level skipped with its reason, or
  passed by one of its people).

A few hundred examples in the normal suite; `CRISISROUTE_SOAK=1` runs
thousands. Derandomized, and each example starts from the same database
state (a transaction rolled back after it), so a failure repeats.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import httpx
import httpx._transports.default
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from app import jobs
from app.contacts.models import Contact, ContactEvent, ContactStatus, EventKind
from app.db import Database
from app.escalation.handover import check_holders
from app.escalation.models import PageStep
from app.inbound.keywords import OPT_IN, OPT_OUT
from app.main import create_app
from app.messaging.models import OutboundMessage
from app.oncall.models import Rota, RotaOverride
from app.teams.models import Staff
from tests.conftest import PUBLIC_BASE_URL, make_settings
from tests.escalation.page_calls import call_ends, pick_up, press
from tests.factories import make_staff
from tests.world import Clock, make_world, text_in, twilio_mock

SOAK = os.environ.get("CRISISROUTE_SOAK") == "1"
# A few hundred examples in the normal suite, fewer on PostgreSQL, whose
# examples are slower; MODEL_EXAMPLES overrides both.
EXAMPLES = {"sqlite": 200, "postgres": 100}
if os.environ.get("MODEL_EXAMPLES"):
    EXAMPLES = dict.fromkeys(EXAMPLES, int(os.environ["MODEL_EXAMPLES"]))
if SOAK:
    EXAMPLES = dict.fromkeys(EXAMPLES, 3000)
STEPS = 40 if SOAK else int(os.environ.get("MODEL_STEPS", 20))

# A Wednesday, 16:40 in New York: the case managers' office hours end at
# 17:00 and the on-call person's turn at 17:05, so shift ends happen early.
START = datetime(2026, 11, 18, 21, 40, tzinfo=UTC)
ONCALL_TURN_ENDS = START + timedelta(minutes=25)
# Office hours end at 17:00 New York time (22:00 UTC).
SHIFT_ENDS = [START + timedelta(minutes=20), ONCALL_TURN_ENDS]
LEVEL_TIMEOUT = timedelta(seconds=300)
# The outbox's longest wait between retries (a minute, +20 % jitter), and a tick.
RETRY_WAIT = timedelta(seconds=75)
UNKNOWN = "+12015550177"

# The carrier's lists (Twilio's defaults): only a single word counts.
CARRIER_OPT_OUT = sorted(OPT_OUT)
CARRIER_OPT_IN = sorted(OPT_IN)

WORDS = [
    "please",
    "I",
    "am",
    "scared",
    "call",
    "me",
    "no",
    "yes",
    "the",
    "pills",
    "are",
    "here",
    "mañana",
    "ok",
    "stop",
]


def any_case(word: str):
    return st.sampled_from([word, word.lower(), word.capitalize(), word.upper()])


# Each kind of keyword as likely as the others (eight opt-out words would
# otherwise drown the three opt-in words).
keyword_texts = st.sampled_from([CARRIER_OPT_OUT, CARRIER_OPT_IN, ["HELP", "INFO"]]).flatmap(
    lambda words: st.sampled_from(words).flatmap(any_case)
)
plain_texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join)
# 2,000 characters: two parts for staff (Twilio refuses a body over 1,600).
long_texts = st.integers(0, 99).map(
    lambda seed: " ".join(f"story-{seed:02d}-{i:04d}" for i in range(200))[:2000].rstrip()
)
staff_commands = st.sampled_from(["ACK", "PASS", "DONE", "KEEP", "STOP", "START", "Yes"]).flatmap(
    any_case
)
staff_texts = st.one_of(staff_commands, plain_texts)


def norm(text: str) -> str:
    return " ".join(text.split())


@dataclass
class ClientText:
    number: str
    body: str
    at: datetime
    contact_id: int
    sent_before: int  # how many messages Twilio had taken when it arrived
    seen: bool = False


class ConversationModel(RuleBasedStateMachine):
    """One crisis line, driven from outside. `engine` is set by the test."""

    engine = None

    def __init__(self):
        super().__init__()
        self.connection = self.engine.connect()
        self.outer = self.connection.begin()
        self.db = Database(
            self.engine, session_options={"join_transaction_mode": "create_savepoint"}
        )
        self.db.sessionmaker.configure(bind=self.connection)
        self.db.connection = self.connection
        self._twilio = twilio_mock()
        self.twilio = self._twilio.__enter__()
        self.clock = Clock(START)
        self.session = self.db.sessionmaker()
        self.world = make_world(self.session)
        self.nia = make_staff(self.session, self.world.team, name="Nia Next", phone="+12015550189")
        rota = self.session.execute(select(Rota)).scalars().one()
        self.session.add(
            RotaOverride(
                rota_id=rota.id,
                staff_id=self.nia.id,
                start=ONCALL_TURN_ENDS,
                end=ONCALL_TURN_ENDS + timedelta(hours=12),
                reason="evening",
            )
        )
        self.session.commit()
        self.line = self.world.team.crisis_line_number
        self.clients = [self.world.client_phone, self.world.family_phone, UNKNOWN]
        staff = [
            self.world.case_manager,
            self.world.backup_cm,
            self.world.oncall,
            self.world.supervisor,
            self.nia,
        ]
        self.staff_phones = [s.phone for s in staff]
        self.staff_ids = {s.phone: s.id for s in staff}
        self.texts: list[ClientText] = []
        self.carrier_up_since: datetime | None = START
        self.answered_calls: set[str] = set()
        self.http = None
        self._start()

    # The process --------------------------------------------------------

    def _start(self) -> None:
        app = create_app(make_settings(), db=self.db, run_worker=False, configure_logs=False)
        app.state.runtime.clock = self.clock
        self.app = app
        self.http = TestClient(app, base_url=PUBLIC_BASE_URL)
        # The model drives every job itself: the app's own scheduler (its web
        # job runs each wall-clock minute) would share the example's one
        # connection and abort its transaction on PostgreSQL.
        with patch("app.main.declared_jobs", lambda *args, **kwargs: []):
            self.http.__enter__()

    def _stop(self) -> None:
        if self.http is not None:
            self.http.__exit__(None, None, None)
            self.http = None

    def teardown(self):
        try:
            self._the_carrier_works_for_a_level()
        finally:
            self._stop()
            self.session.close()
            self._twilio.__exit__(None, None, None)
            self.outer.rollback()
            self.connection.close()

    def _the_carrier_works_for_a_level(self) -> None:
        """However the example ended: once Twilio works for a level's timeout,
        every text has reached someone."""
        if self.carrier_up_since is None:
            self.twilio_recovers()
        self.time_passes(int((LEVEL_TIMEOUT + RETRY_WAIT).total_seconds()))
        self.every_client_text_reaches_a_human()
        self.nothing_is_sent_to_a_blocked_number()

    # What the world does -------------------------------------------------

    def _carrier_sees(self, number: str, body: str) -> None:
        """The carrier's block list, as Twilio keeps it."""
        word = body.strip().upper()
        if word in OPT_OUT:
            self.twilio.carrier_blocked.add(number)
        elif word in OPT_IN:
            self.twilio.carrier_blocked.discard(number)

    # Three rules of texting (words, a carrier keyword, a long text) so a
    # client texts about as often as everything else happens.
    @rule(number=st.sampled_from([0, 1, 2]), body=plain_texts)
    def client_texts_words(self, number, body):
        self._client_texts(self.clients[number], body)

    @rule(number=st.sampled_from([0, 1, 2]), body=keyword_texts)
    def client_texts_a_keyword(self, number, body):
        self._client_texts(self.clients[number], body)

    @rule(number=st.sampled_from([0, 1, 2]), body=long_texts)
    def client_texts_at_length(self, number, body):
        self._client_texts(self.clients[number], body)

    def _client_texts(self, sender: str, body: str) -> None:
        self._carrier_sees(sender, body)
        sid = f"SMmodel{len(self.texts):026d}"
        before = len(self.twilio.sent)
        response = text_in(self.http, self.line, sender, body, sid)
        assert response.status_code == 200, response.text
        self.session.expire_all()
        received = self.session.execute(
            select(ContactEvent).where(ContactEvent.idempotency_key == sid)
        ).scalar_one()
        self.texts.append(
            ClientText(
                number=sender,
                body=body,
                at=self.clock.now,
                contact_id=received.contact_id,
                sent_before=before,
            )
        )

    @rule(who=st.integers(0, 4), body=staff_texts, addressed=st.booleans(), data=st.data())
    def staff_texts(self, who, body, addressed, data):
        phone = self.staff_phones[who]
        if addressed and self.texts:
            contact_id = data.draw(st.sampled_from(sorted({t.contact_id for t in self.texts})))
            body = f"#{contact_id} {body}"
        self._carrier_sees(phone, body)
        response = text_in(self.http, self.line, phone, body)
        assert response.status_code == 200, response.text

    @precondition(lambda self: self.texts)
    @rule(data=st.data(), body=st.one_of(plain_texts, st.sampled_from(["ACK", "Yes", "PASS"])))
    def a_paged_person_answers(self, data, body):
        """Someone paged for, or holding, a contact replies to it (`#id …`)."""
        self.session.expire_all()
        paged = sorted(
            set(
                self.session.execute(
                    select(ContactEvent.contact_id, Staff.phone)
                    .join(Staff, Staff.id == ContactEvent.staff_id)
                    .join(Contact, Contact.id == ContactEvent.contact_id)
                    .where(
                        ContactEvent.kind.in_((EventKind.NOTIFIED, EventKind.ACKNOWLEDGED)),
                        Contact.status != ContactStatus.RESOLVED,
                    )
                ).all()
            )
        )
        if not paged:
            return
        contact_id, phone = data.draw(st.sampled_from(paged))
        body = f"#{contact_id} {body}"
        self._carrier_sees(phone, body)
        response = text_in(self.http, self.line, phone, body)
        assert response.status_code == 200, response.text

    @precondition(lambda self: self._calls_waiting())
    @rule(data=st.data(), answer=st.sampled_from(["1", "2", "voicemail", "no-answer"]))
    def page_call_answered(self, data, answer):
        call = data.draw(st.sampled_from(self._calls_waiting()))
        self.answered_calls.add(call.sid)
        if answer == "no-answer":
            call_ends(self.http, call, "no-answer")
            return
        pick_up(self.http, call)
        press(self.http, call, "" if answer == "voicemail" else answer)
        call_ends(self.http, call, "completed")

    def _calls_waiting(self):
        return [c for c in self.twilio.calls if c.sid not in self.answered_calls]

    @rule(seconds=st.sampled_from([5, 30, 61, 150, 301, 620]))
    def time_passes(self, seconds):
        """The worker's jobs, run at each instant something falls due (a
        deadline, a notification rule, a retry, a hand-over, a shift end)
        and at the end: what a worker ticking every second would do, without
        ticking every second."""
        end = self.clock.now + timedelta(seconds=seconds)
        for _ in range(200):
            self._run_jobs()
            later = [t for t in self._due_times() if self.clock.now < t < end]
            if not later:
                break
            self.clock.now = min(later)
        self.clock.now = end
        self._run_jobs()
        if seconds >= 60:
            # The rest of the minute job (shift notices, coverage checks, follow-ups).
            jobs.MINUTE_CHECKS.as_job().run(self.app.state.runtime)

    def _run_jobs(self) -> None:
        state = self.app.state
        # Claims what fell due and sends what that queued (and every retry due).
        jobs.escalation_tick(state.runtime)
        # The part of the minute job that moves contacts: holders off duty.
        with self.db.session() as session:
            check_holders(session=session, now=self.clock.now, settings=state.runtime.settings)
        state.runtime.dispatcher.kick()

    def _due_times(self) -> list[datetime]:
        self.session.expire_all()
        times = [*SHIFT_ENDS]
        for column, where in (
            (Contact.next_escalation_at, Contact.next_escalation_at.is_not(None)),
            (Contact.handover_due_at, Contact.handover_due_at.is_not(None)),
            (PageStep.due_at, PageStep.status == "pending"),
            (OutboundMessage.next_attempt_at, OutboundMessage.status == "pending"),
        ):
            times += [t for t in self.session.execute(select(column).where(where)).scalars() if t]
        return times

    @precondition(lambda self: self.carrier_up_since is not None)
    @rule()
    def twilio_fails(self):
        self.twilio.fail_next[:] = [httpx.Response(503, json={"code": 20500})] * 100_000
        self.carrier_up_since = None

    @precondition(lambda self: self.carrier_up_since is None)
    @rule()
    def twilio_recovers(self):
        self.twilio.fail_next.clear()
        self.carrier_up_since = self.clock.now

    @rule()
    def process_restarts(self):
        self._stop()
        self._start()

    # The two rules ---------------------------------------------------------

    @invariant()
    def every_client_text_reaches_a_human(self):
        if self.carrier_up_since is None:
            return
        for text in self.texts:
            if text.seen:
                continue
            text.seen = self._seen(text)
            due = max(text.at, self.carrier_up_since) + LEVEL_TIMEOUT + RETRY_WAIT
            assert text.seen or self.clock.now < due, (
                f"a text to contact #{text.contact_id} at {text.at:%H:%M:%S} "
                f"({text.body[:40]!r}) reached nobody by {self.clock.now:%H:%M:%S}"
            )

    def _seen(self, text: ClientText) -> bool:
        cid = text.contact_id
        words = norm(text.body)
        part = re.compile(rf"^#{cid} \((\d+)/(\d+)\): (.*)$", re.DOTALL)
        said = re.compile(rf"^(?:CRISIS|URGENT) #{cid} L\d.* Said: \"(.*)\"$", re.DOTALL)
        for phone in self.staff_phones:
            parts: list[str] = []
            for message in self.twilio.sent[text.sent_before :]:
                if message.to != phone:
                    continue
                body = message.body
                if body.startswith(f"#{cid}: ") and norm(body.split(": ", 1)[1]) == words:
                    return True
                if (m := part.match(body)) is not None:
                    parts = [] if m.group(1) == "1" else parts
                    parts.append(m.group(3))
                    if m.group(1) == m.group(2) and norm(" ".join(parts)) == words:
                        return True
                if body.startswith(f'#{cid} texted "{text.body.strip()[:20]}"'):
                    return True
                if (m := said.match(body)) is not None:
                    quoted = norm(m.group(1))
                    if words in quoted:
                        return True
                    if quoted.endswith("...") and words.startswith(quoted[:-3]):
                        return True
        return False

    @invariant()
    def every_contact_has_a_holder_or_a_deadline(self):
        self.session.expire_all()
        for contact in self.session.execute(select(Contact)).scalars():
            if contact.status in (ContactStatus.OPEN, ContactStatus.UNANSWERED):
                assert contact.next_escalation_at is not None, (
                    f"#{contact.id} {contact.status} with no deadline"
                )
            elif contact.status == ContactStatus.ACKNOWLEDGED:
                holder = self.session.get(Staff, contact.acknowledged_by)
                assert holder is not None and holder.active, f"#{contact.id} held by nobody"

    @invariant()
    def nothing_is_sent_to_a_blocked_number(self):
        assert self.twilio.refused == [], f"sent to opted-out numbers: {self.twilio.refused}"

    @invariant()
    def unanswered_only_after_every_level_was_tried(self):
        self.session.expire_all()
        gave_up = self.session.execute(
            select(ContactEvent).where(ContactEvent.kind == EventKind.UNANSWERED)
        ).scalars()
        for event in gave_up:
            contact = self.session.get(Contact, event.contact_id)
            for level in contact.plan:
                if level["kind"] == "fallback":
                    continue
                n = level["level"]
                skipped = self.session.execute(
                    select(ContactEvent.id).where(
                        ContactEvent.contact_id == contact.id,
                        ContactEvent.kind == EventKind.LEVEL_SKIPPED,
                        ContactEvent.level == n,
                        ContactEvent.at <= event.at,
                    )
                ).first()
                taken = self.session.execute(
                    select(OutboundMessage.id).where(
                        OutboundMessage.contact_id == contact.id,
                        OutboundMessage.level == n,
                        OutboundMessage.provider_sid.is_not(None),
                    )
                ).first()
                # A person of the level who passed it (by its #id) answered it.
                passed = self.session.execute(
                    select(ContactEvent.id).where(
                        ContactEvent.contact_id == contact.id,
                        ContactEvent.kind == EventKind.PASSED,
                        ContactEvent.level == n,
                        ContactEvent.at <= event.at,
                    )
                ).first()
                assert skipped or taken or passed, (
                    f"#{contact.id} unanswered but level {n} never tried"
                )


@pytest.fixture
def one_tls_context(monkeypatch):
    """Each start builds httpx clients (the Twilio sender, the test client),
    and loading the CA bundle for each was a tenth of a second: one context
    serves them all (nothing here speaks TLS: respx answers)."""
    made = {}
    real = httpx._config.create_ssl_context

    def shared(*args, **kwargs):
        key = repr((args, sorted(kwargs.items())))
        if key not in made:
            made[key] = real(*args, **kwargs)
        return made[key]

    monkeypatch.setattr(httpx._transports.default, "create_ssl_context", shared)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_the_conversation_keeps_the_two_rules(backend, migrated_engines, one_tls_context):
    ConversationModel.engine = migrated_engines(backend)
    run_state_machine_as_test(
        ConversationModel,
        settings=settings(
            max_examples=EXAMPLES[backend],
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
