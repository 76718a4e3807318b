"""Nothing accepted is dropped: a text whose routing keeps failing is opened
with the minimal plan (on-call, supervisors, fallback) and says why; when
even that fails it is a dead letter in the database, counted on /metrics,
listed by GET /v1/teams/{id}/stuck and retried every minute until it is
routed."""

from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import Contact, ContactEvent
from app.escalation import engine
from app.inbound import inbox
from app.jobs import retry_stuck_texts
from app.messaging.models import InboxMessage
from app.routing import RotaOnCallInfo, minimal_plan
from tests.conftest import auth
from tests.factories import make_key
from tests.world import kinds, route_inbox, text_in

WORDS = "please someone, I am not safe tonight"
STRANGER = "+12015550199"


def inbox_rows(session) -> list[InboxMessage]:
    session.expire_all()
    return list(session.execute(select(InboxMessage).order_by(InboxMessage.id)).scalars())


def contacts(session) -> list[Contact]:
    session.expire_all()
    return list(session.execute(select(Contact).order_by(Contact.id)).scalars())


def stuck_gauge(client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("crisisroute_stuck_texts "):
            return float(line.split()[1])
    raise AssertionError("crisisroute_stuck_texts not in /metrics")


def routing_rounds(app, clock, rounds: int) -> None:
    """The worker's retries: each look, then the backoff's longest wait (16 s)."""
    for _ in range(rounds):
        route_inbox(app)
        app.state.runtime.dispatcher.drain()
        clock.advance(seconds=17)


def text_through_every_retry(client, world, clock, number: str) -> None:
    """`number` texts WORDS and the worker tries to route it as many times as it may."""
    text_in(client, world, number, WORDS, route=False)
    routing_rounds(client.app, clock, inbox.MAX_ATTEMPTS)


def raising(error: Exception):
    """A stand-in that raises `error` whatever it is called with."""

    def broken(**_):
        raise error

    return broken


def test_the_minimal_plan_is_on_call_then_supervisors_then_the_fallback():
    levels = minimal_plan(
        on_call=[
            RotaOnCallInfo(rota_id=2, priority=2, staff_id=8),
            RotaOnCallInfo(rota_id=1, priority=1, staff_id=7),
            RotaOnCallInfo(rota_id=3, priority=3, staff_id=7),  # once is enough
            RotaOnCallInfo(rota_id=4, priority=4, staff_id=None),  # a gap
        ],
        supervisor_ids=[9, 8],
        timeout_seconds=300,
        fallback_number="+19085550111",
    )
    assert [(lv.kind, lv.staff_ids, lv.rota_id) for lv in levels] == [
        ("rota", (7,), 1),
        ("rota", (8,), 2),
        ("supervisors", (9,), None),
        ("fallback", (), None),
    ]
    assert minimal_plan(
        on_call=[], supervisor_ids=[], timeout_seconds=300, fallback_number="+19085550111"
    )[0].kind == ("fallback")


def test_a_text_routing_always_fails_on_reaches_the_on_call_with_the_minimal_plan(
    client, world, session, twilio, clock, monkeypatch
):
    monkeypatch.setattr(inbox, "route_message", raising(KeyError("a client row routing trips on")))
    text_through_every_retry(client, world, clock, world.client_phone)
    [row] = inbox_rows(session)
    assert (row.outcome, row.attempts) == ("opened_minimal", inbox.MAX_ATTEMPTS)
    [contact] = contacts(session)
    assert [lv["kind"] for lv in contact.plan] == ["rota", "supervisors", "fallback"]
    assert contact.plan[0]["staff_ids"] == [world.oncall.id]
    assert "routing_failed" in kinds(session, contact.id)
    why = session.execute(
        select(ContactEvent.data).where(
            ContactEvent.contact_id == contact.id, ContactEvent.kind == "routing_failed"
        )
    ).scalar_one()
    assert why["reason"] == "routing_failed" and why["error"].startswith("KeyError at ")
    # The on-call was texted the client's words through Twilio; the client got the auto-reply.
    [paged] = twilio.to(world.oncall.phone)
    assert f"#{contact.id}" in paged.body and WORDS in paged.body
    assert twilio.to(world.client_phone)
    # The client's next text, which routing also cannot handle, joins that contact.
    text_in(client, world, world.client_phone, "still here", route=False)
    routing_rounds(client.app, clock, inbox.MAX_ATTEMPTS)
    assert [r.outcome for r in inbox_rows(session)] == ["opened_minimal", "continued_minimal"]
    assert len(contacts(session)) == 1
    assert any("still here" in m.body for m in twilio.to(world.oncall.phone)[1:])


def test_a_failure_injected_ten_times_leaves_a_stuck_text_that_is_routed_when_it_stops(
    client, world, session, twilio, clock, monkeypatch
):
    real_start = engine.start
    failures = {"left": 10}

    def flaky_start(**kwargs):
        # Both routing and the minimal plan notify through engine.start.
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("injected")
        return real_start(**kwargs)

    monkeypatch.setattr(engine, "start", flaky_start)
    supervisor_key = world.supervisor_key
    # A number the team does not know: its usual plan starts with the on-call.
    text_through_every_retry(client, world, clock, STRANGER)
    # Five routing attempts and the minimal plan failed: a dead letter, kept.
    [row] = inbox_rows(session)
    assert row.outcome == "stuck" and failures["left"] == 4
    assert contacts(session) == []
    assert stuck_gauge(client) == 1
    listed = client.get(f"/v1/teams/{world.team.id}/stuck", headers=auth(supervisor_key))
    assert listed.status_code == 200
    [stuck] = listed.json()
    assert stuck["id"] == row.id and stuck["body"] == WORDS
    assert stuck["from_number"] == "*********99" and STRANGER not in listed.text
    assert stuck["why"].startswith("ConnectionError at ")
    # Retried every minute (routing, then the minimal plan: two failures a try).
    for _ in range(2):
        clock.advance(seconds=60)
        retry_stuck_texts(client.app.state.runtime)
        assert inbox_rows(session)[0].outcome == "stuck"
    assert failures["left"] == 0
    assert twilio.to(world.oncall.phone) == []
    # The failure has stopped: the next minute routes it as usual.
    clock.advance(seconds=30)
    retry_stuck_texts(client.app.state.runtime)
    assert inbox_rows(session)[0].outcome == "stuck"  # not yet its minute
    clock.advance(seconds=30)
    retry_stuck_texts(client.app.state.runtime)
    client.app.state.runtime.dispatcher.drain()
    assert inbox_rows(session)[0].outcome == "opened"
    [contact] = contacts(session)
    [paged] = twilio.to(world.oncall.phone)
    assert f"#{contact.id}" in paged.body and WORDS in paged.body
    assert stuck_gauge(client) == 0
    assert client.get(f"/v1/teams/{world.team.id}/stuck", headers=auth(supervisor_key)).json() == []


def test_stuck_is_for_supervisors_of_the_team_and_admins_see_no_words(
    client, world, session, twilio, clock, monkeypatch
):
    monkeypatch.setattr(engine, "start", raising(ConnectionError("injected")))
    text_through_every_retry(client, world, clock, world.client_phone)
    path = f"/v1/teams/{world.team.id}/stuck"
    admin = make_key(session, "admin")
    case_manager = make_key(session, "case_manager", world.team, world.case_manager)
    other = make_key(session, "supervisor", world.other_team)
    session.commit()
    [as_admin] = client.get(path, headers=auth(admin)).json()
    assert as_admin["body"] is None and as_admin["from_number"] == "*********50"
    assert client.get(path, headers=auth(case_manager)).status_code == 403
    assert client.get(path, headers=auth(other)).status_code == 404
    assert client.get(f"/v1/teams/{world.other_team.id}/stuck", headers=auth(admin)).json() == []
    assert client.get(path).status_code == 401
