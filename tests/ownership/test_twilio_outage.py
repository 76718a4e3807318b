"""A Twilio outage is not "nobody answered": contacts wait at their level
while their notifications cannot leave, and when Twilio answers again each
current level is notified once, in order, and no contact is `unanswered`."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.contacts.models import Contact
from tests.world import text_in, tick

CALLERS = [f"+1201555{3100 + i:04d}" for i in range(5)]


def contacts(session) -> list[Contact]:
    session.expire_all()
    return list(session.execute(select(Contact).order_by(Contact.id)).scalars())


def unreachable_seconds(client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("crisisroute_carrier_unreachable_seconds "):
            return float(line.split()[1])
    raise AssertionError("crisisroute_carrier_unreachable_seconds not in /metrics")


def test_a_ten_minute_outage_walks_no_contact_and_recovery_notifies_each_level_once(
    client, world, session, twilio, clock, app
):
    # Twilio answers 503 to everything for ten minutes.
    twilio.fail_next[:] = [httpx.Response(503, json={"code": 20500})] * 100_000
    for number in CALLERS:
        text_in(client, world, number, "help")
        clock.advance(seconds=5)
    for _ in range(40):  # ten minutes in 15-second ticks
        clock.advance(seconds=15)
        tick(app)
    assert twilio.sent == []
    # /metrics says so (readiness does not: the service itself is fine).
    assert unreachable_seconds(client) >= 120
    assert client.get("/readyz").status_code == 200
    opened = contacts(session)
    assert [c.status for c in opened] == ["open"] * len(CALLERS)
    assert [c.level for c in opened] == [1] * len(CALLERS)
    # Twilio recovers: within the longest retry wait (a minute, +20 % jitter)
    # everything queued goes out, oldest contact first.
    twilio.fail_next.clear()
    clock.advance(seconds=73)
    tick(app)
    assert unreachable_seconds(client) == 0
    paged = twilio.to(world.oncall.phone)
    assert [m.body.split()[1] for m in paged] == [f"#{c.id}" for c in opened]
    assert len(paged) == len(CALLERS)
    # Each level then has its full time from when its notification left.
    clock.advance(seconds=290)
    tick(app)
    assert [c.level for c in contacts(session)] == [1] * len(CALLERS)
    assert all(c.status != "unanswered" for c in contacts(session))
    clock.advance(seconds=20)
    tick(app)
    assert [c.level for c in contacts(session)] == [2] * len(CALLERS)
