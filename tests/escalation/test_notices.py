"""Shift-start notices and the daily coverage check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from app.escalation.notices import (
    ShiftStart,
    coverage_due,
    coverage_text,
    send_coverage_checks,
    send_shift_notices,
    shifts_starting_soon,
)
from app.messaging.models import OutboundMessage, SentNotice
from app.oncall.models import Rota

NOW = datetime(2026, 11, 18, 21, 40, tzinfo=UTC)  # 16:40 in New York


def test_only_shifts_starting_within_the_lead_are_noticed():
    soon = ShiftStart(1, "Primary", 7, NOW + timedelta(minutes=20), NOW + timedelta(hours=16))
    later = ShiftStart(1, "Primary", 8, NOW + timedelta(hours=2), NOW + timedelta(hours=18))
    running = ShiftStart(1, "Primary", 9, NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    assert shifts_starting_soon([soon, later, running], NOW) == [soon]


def test_coverage_check_is_due_from_nine_local_and_names_the_gap():
    assert coverage_due(datetime(2026, 11, 18, 13, 59, tzinfo=UTC), "America/New_York") is None
    assert (
        coverage_due(datetime(2026, 11, 18, 14, 0, tzinfo=UTC), "America/New_York") == "2026-11-18"
    )
    assert coverage_text([], "America/New_York") is None
    text = coverage_text([(NOW, NOW + timedelta(hours=10))], "America/New_York")
    assert "10h" in text and "Wed 18 Nov 16:40" in text


def _messages(session, purpose):
    session.expire_all()
    return (
        session.execute(select(OutboundMessage).where(OutboundMessage.purpose == purpose))
        .scalars()
        .all()
    )


def test_shift_notice_goes_once_to_the_person_coming_on(client, session, world):
    # Nights layer: 17:00-09:00 weekdays; Nia comes on at 17:00 local (22:00 UTC), 20 minutes after NOW.
    from tests.factories import make_staff

    night = make_staff(session, world.team, name="Nia Night", phone="+12015550185")
    session.add(
        Rota(
            team_id=world.team.id,
            name="Nights",
            priority=2,
            timezone="America/New_York",
            layers=[
                {
                    "name": "nights",
                    "turn": {"unit": "days", "length": 1},
                    "start": "2026-01-05T17:00",
                    "participants": [night.id],
                    "restrictions": [
                        {
                            "days": ["mon", "tue", "wed", "thu", "fri"],
                            "start": "17:00",
                            "end": "09:00",
                        }
                    ],
                }
            ],
        )
    )
    session.commit()
    assert send_shift_notices(session=session, now=NOW) == 1
    assert send_shift_notices(session=session, now=NOW + timedelta(minutes=1)) == 0  # once
    [notice] = _messages(session, "notice")
    assert notice.to_number == night.phone and "17:00" in notice.body
    # Nobody else is starting a shift in the next 30 minutes.
    assert send_shift_notices(session=session, now=NOW + timedelta(hours=2)) == 0


def test_daily_coverage_check_texts_supervisors_once_a_day(client, session, world):
    # The world's primary rota is 24/7 (weekly, one person): no alert for this team.
    send_coverage_checks(session=session, now=NOW)
    assert [m for m in _messages(session, "alert") if m.team_id == world.team.id] == []
    primary = session.execute(
        select(Rota).where(Rota.team_id == world.team.id, Rota.priority == 1)
    ).scalar_one()
    primary.layers = [
        {
            "name": "days",
            "turn": {"unit": "weeks", "length": 1},
            "start": "2026-01-05T09:00",
            "participants": [world.oncall.id],
            "restrictions": [
                {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
            ],
        }
    ]
    session.add(primary)
    session.execute(delete(SentNotice))
    session.commit()
    assert send_coverage_checks(session=session, now=NOW) >= 1
    send_coverage_checks(session=session, now=NOW + timedelta(hours=1))
    alerts = [m for m in _messages(session, "alert") if m.team_id == world.team.id]
    assert len(alerts) == 1  # once a day
    assert alerts[0].to_number == world.supervisor.phone and "COVERAGE GAP" in alerts[0].body
