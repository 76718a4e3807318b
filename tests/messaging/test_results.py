"""What a round writes back, alone: acceptances, retries with backoff,
failures that run the hook, messages given back, early callbacks."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from app.contacts.models import Contact
from app.messaging import results
from app.messaging.claim import claim
from app.messaging.models import EarlyStatusCallback, OutboundMessage
from app.messaging.senders import SendResult
from app.ops.metrics import CARRIER_UNREACHABLE, OUTBOUND
from tests.factories import make_team
from tests.messaging.helpers import NOW, queue, sms_contact

LATER = NOW + timedelta(seconds=5)


def _claimed_message(db, purpose: str = "notify") -> int:
    with db.session() as session:
        team = make_team(session)
        contact = sms_contact(session, team, "+12015550101")
        message_id = queue(session, team, contact, "hello", purpose=purpose)
    [row] = claim(db, [message_id], NOW)
    return row.id


def _row(db, message_id) -> OutboundMessage:
    with db.session() as session:
        message = session.get(OutboundMessage, message_id)
        session.expunge(message)
        return message


def test_backoff_doubles_from_a_second_and_stops_at_a_minute():
    assert [results.backoff(n, jitter=1).total_seconds() for n in (0, 1, 2, 3, 7, 8, 20)] == [
        1,
        1,
        2,
        4,
        60,
        60,
        60,
    ]


def test_accepted_messages_are_written_with_their_sid_and_only_while_sending(db):
    message_id = _claimed_message(db)
    result = SendResult(ok=True, provider_sid="SM" + "1" * 32, status="queued")
    results.record_accepted(db, [(message_id, result)], LATER)
    row = _row(db, message_id)
    assert (row.status, row.provider_sid, row.next_attempt_at) == ("queued", "SM" + "1" * 32, None)
    # A second record (the write retried) moves nothing that is no longer `sending`.
    results.record_accepted(
        db, [(message_id, SendResult(ok=True, provider_sid="SMother", status="sent"))], LATER
    )
    assert _row(db, message_id).provider_sid == "SM" + "1" * 32


def test_a_failure_for_now_is_retried_after_backoff_without_the_hook(db):
    message_id = _claimed_message(db)
    hooked = []
    ran = results.record_failure(
        db,
        message_id,
        SendResult(ok=False, error_code="503", permanent=False),
        LATER,
        lambda session, message, now: hooked.append(message.id),
    )
    row = _row(db, message_id)
    assert not ran and hooked == []
    assert (row.status, row.error_code) == ("pending", "503")
    # One second, spread by ±20 % (jitter).
    waited = row.next_attempt_at.replace(tzinfo=UTC) - LATER
    assert 0.8 <= waited.total_seconds() <= 1.2


def test_a_permanent_failure_is_final_and_runs_the_hook(db):
    message_id = _claimed_message(db)
    hooked = []
    ran = results.record_failure(
        db,
        message_id,
        SendResult(ok=False, error_code="21610", permanent=True),
        LATER,
        lambda session, message, now: hooked.append((message.id, now)),
    )
    assert ran and hooked == [(message_id, LATER)]
    assert (_row(db, message_id).status, _row(db, message_id).next_attempt_at) == ("failed", None)


@pytest.mark.parametrize(
    ("purpose", "after_the_last_attempt"),
    [
        ("command_reply", "failed"),
        ("auto_reply", "failed"),
        # Someone's words: whoever closed the contact during the outage has
        # not read them yet.
        ("notify", "pending"),
        ("relay", "pending"),
        ("remind", "pending"),
    ],
)
def test_the_last_attempt_failing_for_now_once_its_contact_is_closed(
    db, purpose, after_the_last_attempt
):
    message_id = _claimed_message(db, purpose)
    with db.session() as session:
        message = session.get(OutboundMessage, message_id)
        message.attempts = results.MAX_ATTEMPTS
        session.get(Contact, message.contact_id).status = "resolved"
    results.record_failure(db, message_id, SendResult(ok=False, error_code="503"), LATER, None)
    assert _row(db, message_id).status == after_the_last_attempt


def test_a_carrier_failure_about_an_open_contact_is_retried_without_a_cap(db):
    """A Twilio outage is not "nobody answered": while the contact is open,
    its messages keep trying (every minute at most) however long it lasts."""
    message_id = _claimed_message(db)
    with db.session() as session:
        session.get(OutboundMessage, message_id).attempts = results.MAX_ATTEMPTS * 10
    hooked = []
    results.record_failure(
        db,
        message_id,
        SendResult(ok=False, error_code="503"),
        LATER,
        lambda session, message, now: hooked.append(message.id),
    )
    row = _row(db, message_id)
    assert row.status == "pending" and hooked == []
    assert (row.next_attempt_at.replace(tzinfo=UTC) - LATER).total_seconds() <= 72


def test_a_released_message_is_pending_again_with_its_attempt_given_back(db):
    message_id = _claimed_message(db)
    results.release(db, message_id, LATER)
    row = _row(db, message_id)
    assert (row.status, row.attempts) == ("pending", 0)
    assert row.next_attempt_at.replace(tzinfo=UTC) == LATER


def test_an_early_failure_callback_is_applied_once_and_runs_the_hook(db):
    message_id = _claimed_message(db)
    sid = "SM" + "2" * 32
    results.record_accepted(db, [(message_id, SendResult(ok=True, provider_sid=sid))], NOW)
    assert not results.early_callbacks_waiting(db, [message_id])
    with db.session() as session:
        session.add(
            EarlyStatusCallback(
                provider_sid=sid, status="undelivered", error_code="30003", received_at=NOW
            )
        )
    assert results.early_callbacks_waiting(db, [message_id])
    hooked = []
    assert results.apply_early_callbacks(
        db, [message_id], LATER, lambda session, message, now: hooked.append(message.id)
    )
    assert hooked == [message_id]
    row = _row(db, message_id)
    assert (row.status, row.error_code) == ("undelivered", "30003")
    assert not results.early_callbacks_waiting(db, [message_id])


# What the mutation run of results.py (tests/MUTATION.md) found untested.


def test_backoff_is_spread_by_the_jitter_given():
    assert results.backoff(3, jitter=0.8).total_seconds() == pytest.approx(3.2)


def test_the_last_attempt_of_a_message_with_no_contact_gives_up(db):
    message_id = _claimed_message(db, "notice")
    with db.session() as session:
        message = session.get(OutboundMessage, message_id)
        message.attempts, message.contact_id = results.MAX_ATTEMPTS, None
    results.record_failure(db, message_id, SendResult(ok=False, error_code="503"), LATER, None)
    assert _row(db, message_id).status == "failed"


def test_a_message_without_words_about_a_contact_still_open_is_retried_past_the_cap(db):
    """Its own contact's status decides, not another's: a closed contact
    elsewhere does not stop it."""
    closed_id = _claimed_message(db, "auto_reply")
    open_id = _claimed_message(db, "auto_reply")
    with db.session() as session:
        for message_id in (closed_id, open_id):
            session.get(OutboundMessage, message_id).attempts = results.MAX_ATTEMPTS
        closed = session.get(OutboundMessage, closed_id)
        session.get(Contact, closed.contact_id).status = "resolved"
    for message_id in (open_id, closed_id):
        results.record_failure(db, message_id, SendResult(ok=False, error_code="503"), LATER, None)
    assert (_row(db, open_id).status, _row(db, closed_id).status) == ("pending", "failed")


def test_a_failure_for_a_message_no_longer_sending_is_not_written(db):
    message_id = _claimed_message(db)
    results.release(db, message_id, NOW)
    hooked = []
    ran = results.record_failure(
        db,
        message_id,
        SendResult(ok=False, error_code="21610", permanent=True),
        LATER,
        lambda session, message, now: hooked.append(message.id),
    )
    row = _row(db, message_id)
    assert ran is False and hooked == []
    assert (row.status, row.error_code) == ("pending", None)


def test_a_final_failure_without_a_hook_says_no_hook_ran_and_counts_it(db):
    message_id = _claimed_message(db)
    failed_before = OUTBOUND.labels("failed")._value.get()
    ran = results.record_failure(
        db, message_id, SendResult(ok=False, error_code="21610", permanent=True), LATER, None
    )
    assert ran is False and _row(db, message_id).status == "failed"
    assert OUTBOUND.labels("failed")._value.get() == failed_before + 1


def test_a_retry_is_counted(db):
    message_id = _claimed_message(db)
    retries_before = OUTBOUND.labels("retry")._value.get()
    results.record_failure(db, message_id, SendResult(ok=False, error_code="503"), LATER, None)
    assert OUTBOUND.labels("retry")._value.get() == retries_before + 1


def test_the_failure_hook_runs_in_the_transaction_that_writes_the_failure(db):
    """It may queue the next level: it gets the session that commits the failure."""
    message_id = _claimed_message(db)
    seen = []

    def hook(session, message, now):
        seen.append((session.get(OutboundMessage, message.id).status, now))

    results.record_failure(
        db, message_id, SendResult(ok=False, error_code="21610", permanent=True), LATER, hook
    )
    assert seen == [("failed", LATER)]


def test_a_message_already_handed_to_twilio_is_not_given_back(db):
    message_id = _claimed_message(db)
    results.record_accepted(db, [(message_id, SendResult(ok=True, provider_sid="SMgiven"))], NOW)
    results.release(db, message_id, LATER)
    row = _row(db, message_id)
    assert (row.status, row.attempts) == ("queued", 1)


def test_the_carrier_gauge_shows_an_outage_only_once_it_has_lasted_two_minutes():
    results.CarrierWatch.failing_since = None
    try:
        results.CarrierWatch.failed(NOW)
        results.CarrierWatch.failed(NOW + timedelta(seconds=119))
        assert CARRIER_UNREACHABLE._value.get() == 0
        results.CarrierWatch.failed(NOW + results.UNREACHABLE_AFTER)
        assert CARRIER_UNREACHABLE._value.get() == 120
        results.CarrierWatch.accepted()
        assert CARRIER_UNREACHABLE._value.get() == 0
        # The next outage is timed from its own first failure.
        results.CarrierWatch.failed(NOW + timedelta(minutes=10))
        assert CARRIER_UNREACHABLE._value.get() == 0
    finally:
        results.CarrierWatch.accepted()


def _accepted_with_sid(db, sid: str, purpose: str = "notify") -> int:
    message_id = _claimed_message(db, purpose)
    results.record_accepted(db, [(message_id, SendResult(ok=True, provider_sid=sid))], NOW)
    return message_id


def _early(db, sid: str, status: str) -> None:
    with db.session() as session:
        session.add(EarlyStatusCallback(provider_sid=sid, status=status, received_at=NOW))


def test_early_callbacks_are_applied_for_the_messages_named_only_or_for_all(db):
    mine, other = _accepted_with_sid(db, "SMmine"), _accepted_with_sid(db, "SMother")
    _early(db, "SMmine", "delivered")
    _early(db, "SMother", "delivered")
    hooked = []

    def hook(session, message, now):
        hooked.append(message.id)

    assert results.apply_early_callbacks(db, [mine], LATER, hook) is False
    assert (_row(db, mine).status, _row(db, other).status) == ("delivered", "queued")
    assert results.early_callbacks_waiting(db, [other])
    assert results.apply_early_callbacks(db, None, LATER, hook) is False
    assert _row(db, other).status == "delivered"
    assert hooked == []  # a delivery is not a failure


def test_an_early_failure_for_a_message_already_failed_does_not_run_the_hook_again(db):
    message_id = _accepted_with_sid(db, "SMtwice")
    with db.session() as session:
        session.get(OutboundMessage, message_id).status = "failed"
    _early(db, "SMtwice", "failed")
    hooked = []
    ran = results.apply_early_callbacks(
        db, [message_id], LATER, lambda session, message, now: hooked.append(message.id)
    )
    assert ran is False and hooked == []


def test_an_early_failure_hook_gets_the_session_and_the_time(db):
    message_id = _accepted_with_sid(db, "SMhook")
    _early(db, "SMhook", "undelivered")
    seen = []

    def hook(session, message, now):
        seen.append((session.get(OutboundMessage, message.id).status, now))

    assert results.apply_early_callbacks(db, [message_id], LATER, hook) is True
    assert seen == [("undelivered", LATER)]


def test_an_acceptance_without_a_status_is_queued_and_counted(db):
    message_id = _claimed_message(db)
    accepted_before = OUTBOUND.labels("accepted")._value.get()
    results.record_accepted(db, [(message_id, SendResult(ok=True, provider_sid="SMnone"))], LATER)
    row = _row(db, message_id)
    assert (row.status, row.updated_at.replace(tzinfo=UTC)) == ("queued", LATER)
    assert OUTBOUND.labels("accepted")._value.get() == accepted_before + 1
