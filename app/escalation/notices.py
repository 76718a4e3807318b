"""Notices around the rota: "you are on call from 17:00" before a shift
starts, and a daily check that texts supervisors about coverage gaps in the
next 7 days. Deciders are pure; `send_*` load rows, decide, and write outbox
rows once (a unique notice key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select
from sqlmodel import Session

from app.messaging.models import MessagePurpose, SentNotice
from app.messaging.outbox import enqueue
from app.teams.models import Staff, Team
from app.teams.service import active_supervisors

log = structlog.get_logger(__name__)

SHIFT_LEAD = timedelta(minutes=30)
COVERAGE_HORIZON = timedelta(days=7)
COVERAGE_LOCAL_HOUR = 9  # the daily check runs from 09:00 team time


@dataclass(frozen=True)
class ShiftStart:
    rota_id: int
    rota_name: str
    staff_id: int
    start: datetime
    end: datetime


def shifts_starting_soon(
    shifts: list[ShiftStart], now: datetime, lead: timedelta = SHIFT_LEAD
) -> list[ShiftStart]:
    """Shifts that start within `lead` from now (and have not started)."""
    return [s for s in shifts if now < s.start <= now + lead]


def shift_notice_text(shift: ShiftStart, timezone: str) -> str:
    zone = ZoneInfo(timezone)
    start, end = shift.start.astimezone(zone), shift.end.astimezone(zone)
    return (
        f"Reminder: you are on call ({shift.rota_name[:30]}) from {start:%a %H:%M} until {end:%a %H:%M}. "
        "Crisis texts come from this number."
    )


def coverage_due(now: datetime, timezone: str) -> str | None:
    """The team-local date whose daily check is due now (from 09:00 local), or None."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.date().isoformat() if local.hour >= COVERAGE_LOCAL_HOUR else None


def coverage_text(gaps: list[tuple[datetime, datetime]], timezone: str) -> str | None:
    if not gaps:
        return None
    zone = ZoneInfo(timezone)
    first = gaps[0]
    hours = sum((end - start).total_seconds() for start, end in gaps) / 3600
    return (
        f"COVERAGE GAP: the primary on-call rota has nobody for {hours:.0f}h in the next 7 days "
        f"({len(gaps)} gap(s); first {first[0].astimezone(zone):%a %d %b %H:%M}-"
        f"{first[1].astimezone(zone):%H:%M}). Fix the rota."
    )


def _claim_notice(session: Session, key: str, team_id: int) -> bool:
    from sqlalchemy.exc import IntegrityError

    try:
        with session.begin_nested():
            session.add(SentNotice(key=key, team_id=team_id))
            session.flush()
    except IntegrityError:
        return False
    return True


def _team_shifts(session: Session, team: Team, start: datetime, end: datetime) -> list[ShiftStart]:
    import rotas
    from app.oncall.models import Rota, RotaOverride
    from app.oncall.service import schedule_for

    result = []
    for rota in session.execute(select(Rota).where(Rota.team_id == team.id)).scalars():
        overrides = list(
            session.execute(
                select(RotaOverride).where(
                    RotaOverride.rota_id == rota.id,
                    RotaOverride.end > start,
                    RotaOverride.start < end,
                )
            ).scalars()
        )
        for shift in rotas.final_schedule(schedule_for(rota, overrides), start, end):
            result.append(ShiftStart(rota.id, rota.name, shift.person, shift.start, shift.end))
    return result


def send_shift_notices(*, session: Session, now: datetime) -> int:
    sent = 0
    for team in session.execute(select(Team)).scalars():
        shifts = _team_shifts(session, team, now, now + SHIFT_LEAD + timedelta(days=1))
        # A shift clipped at `now` is one already running: not "starting soon".
        for shift in shifts_starting_soon([s for s in shifts if s.start > now], now):
            staff = session.get(Staff, shift.staff_id)
            if staff is None or not staff.active:
                continue
            if not _claim_notice(
                session, f"shift:{shift.rota_id}:{staff.id}:{shift.start.isoformat()}", team.id
            ):
                continue
            enqueue(
                session=session,
                team=team,
                to_number=staff.phone,
                body=shift_notice_text(shift, team.timezone),
                purpose=MessagePurpose.NOTICE,
                staff_id=staff.id,
                now=now,
            )
            sent += 1
    return sent


def send_coverage_checks(*, session: Session, now: datetime) -> int:
    import rotas
    from app.oncall.models import Rota, RotaOverride
    from app.oncall.service import schedule_for

    sent = 0
    for team in session.execute(select(Team)).scalars():
        day = coverage_due(now, team.timezone)
        if day is None:
            continue
        primary = (
            session.execute(select(Rota).where(Rota.team_id == team.id, Rota.priority == 1))
            .scalars()
            .first()
        )
        end = now + COVERAGE_HORIZON
        if primary is None:
            gaps = [(now, end)]
        else:
            overrides = list(
                session.execute(
                    select(RotaOverride).where(
                        RotaOverride.rota_id == primary.id,
                        RotaOverride.end > now,
                        RotaOverride.start < end,
                    )
                ).scalars()
            )
            gaps = rotas.gaps(schedule_for(primary, overrides), now, end)
        text = coverage_text(gaps, team.timezone)
        if text is None or not _claim_notice(session, f"coverage:{team.id}:{day}", team.id):
            continue
        alert_supervisors(session=session, team=team, body=text, now=now)
        log.warning("coverage_gap", team_id=team.id, gaps=len(gaps))
        sent += 1
    return sent


def alert_supervisors(
    *,
    session: Session,
    team: Team,
    body: str,
    now: datetime,
    contact_id: int | None = None,
    level: int | None = None,
    except_staff_id: int | None = None,
    except_staff_ids: set[int] | frozenset[int] = frozenset(),
) -> None:
    """An alert by SMS to each of the team's active supervisors (one who opted out is skipped)."""
    for supervisor in active_supervisors(session=session, team_id=team.id):
        if supervisor.id == except_staff_id or supervisor.id in except_staff_ids:
            continue
        enqueue(
            session=session,
            team=team,
            to_number=supervisor.phone,
            body=body,
            purpose=MessagePurpose.ALERT,
            contact_id=contact_id,
            staff_id=supervisor.id,
            level=level,
            now=now,
        )
