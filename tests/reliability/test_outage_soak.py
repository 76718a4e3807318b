"""The outage soak: 200 contacts opened during a 5-minute Twilio outage (the
stand-in answers 503), then recovery, in process with an injected clock (a
tick every 5 s, the worker's own steps): 0 texts lost, 0 contacts walked down
their chain by transport failures, 0 unanswered, and every contact's first
level notified once. Prints how long after recovery each was notified, in
injected-clock and wall seconds (figures in benchmarks/README.md)."""

from __future__ import annotations

import statistics
import time
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from app.contacts.models import Contact, ContactEvent
from app.messaging.models import InboxMessage
from tests.world import clock, route_inbox, text_in, tick, twilio, world  # noqa: F401

# A few minutes of retries in process: out of the quick `-m "not slow"` loop, in CI's full run.
pytestmark = pytest.mark.slow

CONTACTS = 200
OUTAGE_SECONDS = 300
TICK_SECONDS = 5


@pytest.fixture(autouse=True)
def no_wall_clock_jobs(monkeypatch):
    """The test drives every step itself: the app's own scheduler (its web
    job runs each wall-clock minute) would share the test's one connection."""
    monkeypatch.setattr("app.main.declared_jobs", lambda *args, **kwargs: [])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def test_200_contacts_opened_during_a_5_minute_outage_are_all_notified_after_it(
    client,
    world,  # noqa: F811
    session,
    twilio,  # noqa: F811
    clock,  # noqa: F811
    app,
):
    notified: dict[int, tuple[float, float]] = {}  # contact id -> (clock s, wall s) when sent
    started = clock.now

    def note(sent) -> None:
        if sent.to == world.oncall.phone and sent.body.startswith("CRISIS #"):
            contact_id = int(sent.body.split()[1].lstrip("#"))
            assert contact_id not in notified, f"#{contact_id} notified twice"
            notified[contact_id] = ((clock.now - started).total_seconds(), time.monotonic())

    twilio.before_answer = note
    twilio.fail_next[:] = [httpx.Response(503, json={"code": 20500})] * 10_000_000
    callers = [f"+1201556{i:04d}" for i in range(CONTACTS)]
    per_tick = CONTACTS * TICK_SECONDS // OUTAGE_SECONDS + 1
    waiting = list(callers)
    while (clock.now - started).total_seconds() < OUTAGE_SECONDS:
        for number in waiting[:per_tick]:
            text_in(client, world, number, "help, please", route=False)
        del waiting[:per_tick]
        route_inbox(app)
        clock.advance(seconds=TICK_SECONDS)
        tick(app)
    assert not waiting and notified == {}
    session.expire_all()
    opened = session.execute(select(func.count()).select_from(Contact)).scalar_one()
    assert opened == CONTACTS
    recovered_at = (clock.now - started).total_seconds()
    recovered_wall = time.monotonic()
    twilio.fail_next.clear()
    for _ in range(40):  # up to 200 s after recovery, ticking as the worker does
        clock.advance(seconds=TICK_SECONDS)
        tick(app)
        if len(notified) == CONTACTS:
            break
    session.expire_all()
    contacts = list(session.execute(select(Contact)).scalars())
    routed = Counter(session.execute(select(InboxMessage.outcome)).scalars())
    walked = session.execute(
        select(func.count()).select_from(ContactEvent).where(ContactEvent.kind == "escalated")
    ).scalar_one()
    lost = CONTACTS - routed["opened"]
    unanswered = sum(c.status == "unanswered" for c in contacts)
    after = [at - recovered_at for at, _ in notified.values()]
    wall = [w - recovered_wall for _, w in notified.values()]
    print(
        f"\noutage soak: {CONTACTS} contacts during a {OUTAGE_SECONDS} s outage; "
        f"lost {lost}, walked {walked}, unanswered {unanswered}, notified {len(notified)}; "
        f"after recovery (injected clock) p50 {percentile(after, 50):.0f} s, "
        f"p99 {percentile(after, 99):.0f} s, max {max(after):.0f} s; "
        f"(wall) p50 {percentile(wall, 50):.2f} s, p99 {percentile(wall, 99):.2f} s, "
        f"max {max(wall):.2f} s, mean {statistics.mean(wall):.2f} s"
    )
    assert lost == 0 and walked == 0 and unanswered == 0
    assert sorted(notified) == sorted(c.id for c in contacts)
    assert all(c.status == "open" and c.level == 1 for c in contacts)
    # Each retry waits at most a minute (+20 % jitter): nothing waits longer
    # after recovery than that and the tick that finds it due.
    assert max(after) <= 72 + TICK_SECONDS
