"""A message's status moves forward only, whatever order Twilio's callbacks
arrive in: a repeat or a late earlier status changes nothing and says so
(a repeated "failed" must not escalate twice), and a status the outbox does
not know is ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.messaging.models import OutboundMessage
from app.messaging.outbox import advance_status

BEFORE = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
NOW = BEFORE + timedelta(seconds=5)


def _message(status: str) -> OutboundMessage:
    return OutboundMessage(
        team_id=1,
        purpose="notify",
        to_number="+12015550101",
        from_number="+12015550100",
        body="hello",
        status=status,
        updated_at=BEFORE,
    )


def test_a_later_status_moves_the_message_forward():
    message = _message("sent")
    assert advance_status(message, "failed", error_code="30003", at=NOW) is True
    assert (message.status, message.error_code, message.updated_at) == ("failed", "30003", NOW)


@pytest.mark.parametrize(
    ("current", "arriving"),
    [
        ("failed", "failed"),  # a repeated callback
        ("sent", "sent"),
        ("delivered", "sent"),  # a late earlier status
        ("undelivered", "queued"),
    ],
)
def test_a_repeat_or_an_earlier_status_changes_nothing(current, arriving):
    message = _message(current)
    assert advance_status(message, arriving, error_code="30005", at=NOW) is False
    assert (message.status, message.error_code, message.updated_at) == (current, None, BEFORE)


@pytest.mark.parametrize("current", ["pending", "sending", "queued"])
def test_a_status_the_outbox_does_not_know_is_ignored(current):
    message = _message(current)
    assert advance_status(message, "partially_delivered", error_code=None, at=NOW) is False
    assert (message.status, message.updated_at) == (current, BEFORE)


def test_a_forward_move_without_an_error_code_keeps_the_one_recorded():
    message = _message("sending")
    message.error_code = "20429"
    assert advance_status(message, "sent", error_code=None, at=NOW) is True
    assert (message.status, message.error_code) == ("sent", "20429")
