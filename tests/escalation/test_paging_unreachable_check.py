"""The daily check warns supervisors of anyone on call in the next 24 h
whom nothing can wake (opted out of texts, no call rule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.escalation.notices import send_unreachable_checks
from app.messaging.models import OutboundMessage

NOW = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)  # 09:30 in New York: the check is due


def _alerts(session, team_id: int) -> list[OutboundMessage]:
    session.expire_all()
    return list(
        session.execute(
            select(OutboundMessage).where(
                OutboundMessage.team_id == team_id, OutboundMessage.purpose == "alert"
            )
        ).scalars()
    )


def test_an_opted_out_on_call_person_without_a_call_rule_is_reported_once_a_day(
    client, session, world
):
    oncall = world.oncall
    oncall.sms_opted_out = True  # texted STOP: only a call can wake them
    session.add(oncall)
    session.commit()
    # Their default rules include a call a minute in: reachable, no warning.
    assert send_unreachable_checks(session=session, now=NOW) == 0
    oncall.notify_rules = [{"channel": "sms", "after_seconds": 0}]
    session.add(oncall)
    session.commit()
    assert send_unreachable_checks(session=session, now=NOW) == 1
    assert send_unreachable_checks(session=session, now=NOW + timedelta(hours=1)) == 0
    [alert] = _alerts(session, world.team.id)
    assert alert.to_number == world.supervisor.phone
    assert "UNREACHABLE ON CALL: Owen Call" in alert.body
