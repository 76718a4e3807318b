"""The inbox: the webhook records a text and answers; the worker routes it.

Recorded means safe: a text that was answered 200 is in the inbox until it
is routed, whatever happens to routing (an exception, a crash), a Twilio
retry of the same MessageSid is the same row, and a sender's texts are
routed in the order they arrived.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.contacts.models import Contact, ContactEvent
from app.inbound import inbox
from app.messaging.models import InboxMessage, OutboundMessage
from tests.world import route_inbox, text_in


def rows(session, model) -> list:
    session.expire_all()
    return list(session.execute(select(model).order_by(model.id)).scalars())


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_webhook_records_and_answers_and_routing_happens_after(
    client, world, session, twilio, clock
):
    r = text_in(
        client,
        world,
        world.client_phone,
        "I can't sleep, voices again",
        sid="SMrecorded1",
        route=False,
    )
    assert r.status_code == 200 and "<Response" in r.text
    [row] = rows(session, InboxMessage)
    assert (row.message_sid, row.to_number, row.from_number, row.body) == (
        "SMrecorded1",
        world.team.crisis_line_number,
        world.client_phone,
        "I can't sleep, voices again",
    )
    assert row.received_at == clock.now and row.processed_at is None and row.outcome is None
    # Nothing routed, nothing sent yet: that is the worker's job.
    assert (
        count(session, Contact) == 0 and count(session, OutboundMessage) == 0 and twilio.sent == []
    )

    clock.advance(seconds=1)
    route_inbox(client.app)
    [row] = rows(session, InboxMessage)
    assert row.processed_at == clock.now and row.outcome == "opened"
    [contact] = rows(session, Contact)
    assert contact.from_number == world.client_phone and contact.client_id == world.client_row.id
    assert {m.to for m in twilio.sent} == {world.client_phone, world.case_manager.phone}
    # Routing it again finds nothing to do.
    assert inbox.route_pending(client.app.state.runtime) == 0


def test_a_retried_message_sid_is_one_row_and_one_contact(client, world, session, twilio):
    for _ in range(3):
        assert (
            text_in(
                client, world, world.client_phone, "help", sid="SMretried", route=False
            ).status_code
            == 200
        )
    assert [m.message_sid for m in rows(session, InboxMessage)] == ["SMretried"]
    route_inbox(client.app)
    # And a retry after routing is still the same row, routed once.
    assert text_in(client, world, world.client_phone, "help", sid="SMretried").status_code == 200
    assert [(m.message_sid, m.outcome) for m in rows(session, InboxMessage)] == [
        ("SMretried", "opened")
    ]
    assert count(session, Contact) == 1
    assert len(twilio.to(world.client_phone)) == 1


def test_a_text_to_a_line_no_team_uses_is_refused_and_not_recorded(client, world, session):
    r = text_in(client, "+19735550177", world.client_phone, "hello", route=False)
    assert r.status_code == 404 and "crisis line" in r.json()["detail"]
    assert count(session, InboxMessage) == 0


def test_a_team_created_after_start_takes_texts_at_once(client, world, session):
    from tests.factories import make_team

    make_team(
        session, name="East ICM", crisis_line_number="+19735550142", fallback_number="+19085550111"
    )
    session.commit()
    assert "+19735550142" not in client.app.state.runtime.fallback_numbers
    assert text_in(client, "+19735550142", world.client_phone, "hello").status_code == 200
    assert [m.outcome for m in rows(session, InboxMessage)] == ["opened"]


def test_a_senders_texts_are_routed_in_the_order_they_arrived(client, world, session, twilio):
    text_in(client, world, world.client_phone, "first", sid="SMorder1", route=False)
    text_in(client, world, world.family_phone, "from mum", sid="SMorder2", route=False)
    text_in(client, world, world.client_phone, "second", sid="SMorder3", route=False)
    route_inbox(client.app)
    outcomes = {m.message_sid: m.outcome for m in rows(session, InboxMessage)}
    assert outcomes == {"SMorder1": "opened", "SMorder2": "opened", "SMorder3": "continued"}
    mine = [c for c in rows(session, Contact) if c.from_number == world.client_phone]
    assert len(mine) == 1
    received = [
        e.data["body"]
        for e in rows(session, ContactEvent)
        if e.contact_id == mine[0].id and e.kind == "received"
    ]
    assert received == ["first", "second"]


def _routing_fails_for(monkeypatch, sid: str, error: type[Exception], text: str):
    """Routing raises `error(text)` for the text `sid` and routes every other
    text; the real `route_message` is returned, to put back."""
    real_route = inbox.route_message

    def fails_for_one(*, session, message, now, settings):
        if message.message_sid == sid:
            raise error(text)
        return real_route(session=session, message=message, now=now, settings=settings)

    monkeypatch.setattr(inbox, "route_message", fails_for_one)
    return real_route


def test_a_later_text_waits_while_an_earlier_one_from_the_same_sender_is_retrying(
    client, world, session, twilio, clock, monkeypatch
):
    real_route = _routing_fails_for(monkeypatch, "SMwait1", RuntimeError, "routing bug")
    text_in(client, world, world.client_phone, "first", sid="SMwait1", route=False)
    text_in(client, world, world.client_phone, "second", sid="SMwait2", route=False)
    text_in(client, world, world.family_phone, "someone else", sid="SMwait3", route=False)
    route_inbox(client.app)
    by_sid = {m.message_sid: m for m in rows(session, InboxMessage)}
    # The failing text stays pending with a retry time; its sender's next text
    # waits behind it; another sender is not held up.
    assert by_sid["SMwait1"].processed_at is None and by_sid["SMwait1"].attempts == 1
    assert by_sid["SMwait1"].next_attempt_at == clock.now + timedelta(seconds=2)
    assert by_sid["SMwait1"].last_error.startswith("RuntimeError at test_inbox.py:")
    assert by_sid["SMwait2"].processed_at is None and by_sid["SMwait2"].attempts == 0
    assert by_sid["SMwait3"].outcome == "opened"
    # Routing's partial work was rolled back with it: no contact for the failing sender.
    assert [c.from_number for c in rows(session, Contact)] == [world.family_phone]

    monkeypatch.setattr(inbox, "route_message", real_route)
    route_inbox(client.app)  # not due yet
    assert rows(session, InboxMessage)[0].processed_at is None
    clock.advance(seconds=2)
    route_inbox(client.app)
    assert [(m.message_sid, m.outcome) for m in rows(session, InboxMessage)] == [
        ("SMwait1", "opened"),
        ("SMwait2", "continued"),
        ("SMwait3", "opened"),
    ]


def test_a_text_that_never_routes_opens_with_the_minimal_plan_and_does_not_block_the_next(
    client, world, session, twilio, clock, monkeypatch
):
    _routing_fails_for(monkeypatch, "SMpoison", ValueError, "cannot route")
    text_in(client, world, world.client_phone, "poison", sid="SMpoison", route=False)
    text_in(client, world, world.client_phone, "after", sid="SMafter", route=False)
    for attempt in range(1, inbox.MAX_ATTEMPTS + 1):
        route_inbox(client.app)
        poison = rows(session, InboxMessage)[0]
        assert poison.attempts == attempt
        clock.advance(seconds=2**attempt)
    # Given up on by routing, it is opened with the minimal plan (tests/ownership/test_nothing_dropped.py).
    assert poison.outcome == "opened_minimal" and poison.processed_at is not None
    route_inbox(client.app)
    after = rows(session, InboxMessage)[1]
    assert after.outcome == "continued"  # the sender's next words join that contact
    assert count(session, Contact) == 1


@pytest.mark.parametrize("attempts,seconds", [(1, 2), (2, 4), (4, 16)])
def test_retry_delay_doubles(attempts, seconds):
    assert inbox.retry_delay(attempts) == timedelta(seconds=seconds)


def test_texts_waiting_behind_their_senders_retry_do_not_hold_up_other_senders(
    client, world, session, twilio, clock, monkeypatch
):
    _routing_fails_for(monkeypatch, "SMhold1", RuntimeError, "routing bug")
    text_in(client, world, world.client_phone, "first", sid="SMhold1", route=False)
    runtime = client.app.state.runtime
    assert inbox.route_pending(runtime, limit=1) == 1  # tried and failed: retry in 2 s
    for i in range(3):
        text_in(client, world, world.client_phone, f"more {i}", sid=f"SMhold{i + 2}", route=False)
    text_in(client, world, world.family_phone, "someone else", sid="SMother", route=False)
    # One at a time: the window of due texts is all the retrying sender's later
    # texts, and the other sender's text behind them is still found.
    assert inbox.route_pending(runtime, limit=1) == 1
    outcomes = {m.message_sid: m.outcome for m in rows(session, InboxMessage)}
    assert outcomes == {
        "SMhold1": None,
        "SMhold2": None,
        "SMhold3": None,
        "SMhold4": None,
        "SMother": "opened",
    }


def test_route_pending_runs_the_between_step_after_every_transaction(
    client, world, session, twilio
):
    senders = [world.client_phone, world.family_phone] + [
        f"+1201555{1000 + i:04d}" for i in range(5)
    ]
    for i, number in enumerate(senders):
        text_in(client, world, number, "hello", sid=f"SMbetween{i}", route=False)
    routed_when_called = []

    def between():
        routed_when_called.append(
            sum(1 for m in rows(session, InboxMessage) if m.processed_at is not None)
        )

    assert inbox.route_pending(client.app.state.runtime, together=3, between=between) == len(
        senders
    )
    assert routed_when_called == [3, 6, 7]


def test_one_failing_text_of_a_transaction_costs_the_others_nothing(
    client, world, session, twilio, clock, monkeypatch
):
    real_route = inbox.route_message

    def fails_for_one(*, session, message, now, settings):
        outcome = real_route(session=session, message=message, now=now, settings=settings)
        if (
            message.message_sid == "SMbatch2"
        ):  # after routing wrote its rows: they must all roll back
            raise RuntimeError("routing bug")
        return outcome

    from prometheus_client import REGISTRY

    def opened_counted() -> float:
        return (
            REGISTRY.get_sample_value("crisisroute_contacts_opened_total", {"channel": "sms"})
            or 0.0
        )

    opened_before = opened_counted()
    monkeypatch.setattr(inbox, "route_message", fails_for_one)
    senders = [world.client_phone, world.family_phone] + [
        f"+1201555{2000 + i:04d}" for i in range(3)
    ]
    for i, number in enumerate(senders):
        text_in(client, world, number, "hello", sid=f"SMbatch{i}", route=False)
    transactions = []
    assert inbox.route_pending(
        client.app.state.runtime, together=5, between=lambda: transactions.append(1)
    ) == len(senders)
    by_sid = {m.message_sid: m for m in rows(session, InboxMessage)}
    failed = by_sid.pop("SMbatch2")
    assert (
        failed.processed_at is None and failed.attempts == 1 and failed.next_attempt_at is not None
    )
    assert {m.outcome for m in by_sid.values()} == {"opened"}
    # The failed transaction left nothing behind: one contact and one
    # auto-reply per routed sender, none for the failing one.
    contacts = rows(session, Contact)
    assert sorted(c.from_number for c in contacts) == sorted(
        n for i, n in enumerate(senders) if i != 2
    )
    replies = [m for m in rows(session, OutboundMessage) if m.purpose == "auto_reply"]
    assert sorted(m.to_number for m in replies) == sorted(c.from_number for c in contacts)
    assert (
        len(transactions) == 1
    )  # after the group (rolled back together, then routed one a transaction)
    # Counted when committed: the rolled-back group's contacts are not counted twice.
    assert opened_counted() - opened_before == len(contacts)

    monkeypatch.setattr(inbox, "route_message", real_route)
    clock.advance(seconds=3)
    assert inbox.route_pending(client.app.state.runtime) == 1
    assert rows(session, InboxMessage)[2].outcome == "opened"
    assert count(session, Contact) == len(senders)


def test_texts_routed_together_read_the_team_once_and_write_each_contact_once(
    client, world, session, twilio, clock
):
    from sqlalchemy import event

    senders = [world.client_phone, world.family_phone] + [
        f"+1201555{3000 + i:04d}" for i in range(4)
    ]
    for i, number in enumerate(senders):
        text_in(client, world, number, "hello", sid=f"SMtogether{i}", route=False)
    runtime = client.app.state.runtime
    statements: list[str] = []
    engine = runtime.db.engine

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert inbox.route_pending(runtime, together=len(senders)) == len(senders)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert {(m.outcome, m.processed_at) for m in rows(session, InboxMessage)} == {
        ("opened", clock.now)
    }

    def reads(table: str) -> int:
        return sum(1 for s in statements if s.startswith("SELECT") and f"FROM {table} " in s + " ")

    assert reads("team") == 1 and reads("staff") == 1 and reads("leave") == 1 and reads("rota") == 1
    # The window of due texts, its senders' oldest, one claim of all six; then the window again, empty.
    assert reads("inbox_message") == 4
    # Each contact is inserted with its route plan and first deadline: one write of the row, no UPDATE after.
    assert sum(1 for s in statements if s.startswith("INSERT INTO contact ")) == len(senders)
    assert [s for s in statements if s.startswith("UPDATE contact ")] == []


def test_a_text_arriving_while_a_group_is_routed_waits_for_the_next_look_and_company(
    client, world, session, twilio
):
    """The worker's way (`unless_fewer_than`): without a backlog, texts that
    arrive while a group is routed are not looked for at once (at 50 texts/s
    that routed most texts alone, each paying a transaction of its own); the
    next look routes them together. A backlog is routed without a pause."""
    runtime = client.app.state.runtime
    senders = [f"+1201555{4000 + i:04d}" for i in range(6)]
    for i, number in enumerate(senders[:3]):
        text_in(client, world, number, "hello", sid=f"SMlook{i}", route=False)
    groups: list[int] = []

    def arrivals_meanwhile():
        routed = sum(1 for m in rows(session, InboxMessage) if m.processed_at is not None)
        groups.append(routed - sum(groups))
        if len(groups) == 1:  # two more texts arrive while the first group is routed
            for i, number in enumerate(senders[3:5], start=3):
                text_in(client, world, number, "hello", sid=f"SMlook{i}", route=False)

    assert (
        inbox.route_pending(runtime, together=8, between=arrivals_meanwhile, unless_fewer_than=8)
        == 3
    )
    assert [m.message_sid for m in rows(session, InboxMessage) if m.processed_at is None] == [
        "SMlook3",
        "SMlook4",
    ]
    # The next look: both in one transaction.
    assert (
        inbox.route_pending(runtime, together=8, between=arrivals_meanwhile, unless_fewer_than=8)
        == 2
    )
    assert groups == [3, 2]

    # A backlog (a look that finds at least `unless_fewer_than`) is routed to the end at once,
    # texts that arrive meanwhile included.
    for i in range(7):
        text_in(client, world, f"+1201555{4100 + i:04d}", "hello", sid=f"SMbacklog{i}", route=False)
    text_in(client, world, senders[5], "hello", sid="SMlook5", route=False)
    late: list[str] = []

    def more_arrive_meanwhile():
        if not late:
            late.extend(["SMlate0", "SMlate1"])
            for i, sid in enumerate(late):
                text_in(client, world, f"+1201555{4200 + i:04d}", "hello", sid=sid, route=False)

    assert (
        inbox.route_pending(runtime, together=3, between=more_arrive_meanwhile, unless_fewer_than=3)
        == 10
    )
    assert inbox.pending_count(session) == 0


def test_a_text_held_behind_its_senders_earlier_one_is_routed_in_the_same_look(
    client, world, session, twilio
):
    """Two texts from one sender: the second waits for the first (order), and
    is routed as soon as the first is, not a look later."""
    text_in(client, world, world.client_phone, "first", sid="SMheld1", route=False)
    text_in(client, world, world.client_phone, "second", sid="SMheld2", route=False)
    assert inbox.route_pending(client.app.state.runtime, together=8, unless_fewer_than=8) == 2
    assert [m.outcome for m in rows(session, InboxMessage)] == ["opened", "continued"]
