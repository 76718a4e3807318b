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
