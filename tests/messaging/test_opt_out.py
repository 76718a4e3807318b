"""A number's opt-out is one row per team and number: STOP then START on
one line changes only that line's row for that number. What a queued
message keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.messaging.models import OutboundMessage, SmsOptOut
from app.messaging.outbox import enqueue, is_opted_out, set_opt_out
from tests.factories import make_staff, make_team

NOW = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
CLIENT, NEIGHBOUR = "+12015550101", "+12015550102"


def test_stop_then_start_changes_only_that_team_and_number(session):
    team, other_team = make_team(session), make_team(session)
    for team_id in (team.id, other_team.id):
        for number in (CLIENT, NEIGHBOUR):
            set_opt_out(session=session, team_id=team_id, number=number, opted_out=True, at=NOW)
    assert is_opted_out(session=session, team_id=team.id, number=CLIENT)

    later = NOW + timedelta(minutes=5)
    set_opt_out(session=session, team_id=team.id, number=CLIENT, opted_out=False, at=later)

    assert not is_opted_out(session=session, team_id=team.id, number=CLIENT)
    assert is_opted_out(session=session, team_id=team.id, number=NEIGHBOUR)
    assert is_opted_out(session=session, team_id=other_team.id, number=CLIENT)
    rows = session.exec(
        select(SmsOptOut).where(SmsOptOut.team_id == team.id, SmsOptOut.number == CLIENT)
    ).all()
    assert [(row.opted_out, row.updated_at.replace(tzinfo=UTC)) for row in rows] == [(False, later)]
    neighbour = session.exec(
        select(SmsOptOut).where(SmsOptOut.team_id == team.id, SmsOptOut.number == NEIGHBOUR)
    ).one()
    assert neighbour.updated_at.replace(tzinfo=UTC) == NOW


def test_start_from_a_number_that_never_texted_stop_leaves_it_messageable(session):
    team = make_team(session)
    set_opt_out(session=session, team_id=team.id, number=CLIENT, opted_out=False, at=NOW)
    assert not is_opted_out(session=session, team_id=team.id, number=CLIENT)


def test_a_queued_message_keeps_the_staff_member_and_level_it_is_for(session):
    team = make_team(session)
    staff = make_staff(session, team)
    queued = enqueue(
        session=session,
        team=team,
        to_number=NEIGHBOUR,
        body="page",
        purpose="notify",
        staff_id=staff.id,
        level=2,
        now=NOW,
    )
    row = session.get(OutboundMessage, queued.id)
    assert (row.staff_id, row.level, row.purpose) == (staff.id, 2, "notify")
    # Written at the injected time (the clock the decision read), due at once.
    assert [
        t.replace(tzinfo=UTC) for t in (row.created_at, row.updated_at, row.next_attempt_at)
    ] == [NOW, NOW, NOW]
