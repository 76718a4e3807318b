"""Notices around the rota: "you are on call from 17:00" before a shift
starts, and a daily check that texts supervisors about coverage gaps in the
next 7 days. Deciders are pure; `send_*` load rows, decide, and write outbox
rows once (a unique notice key)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import structlog
from babel.dates import format_datetime
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.escalation import notify_rules
from app.i18n import _
from app.messaging import texts
from app.messaging.models import MessagePurpose, SentNotice
from app.messaging.outbox import enqueue
from app.oncall.models import Rota
from app.oncall.service import shifts as rota_shifts
from app.oncall.service import team_coverage_gaps
from app.teams.models import Staff, StaffRole, Team
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


def _when(at: datetime, zone: ZoneInfo, lang: str, pattern: str) -> str:
    # Babel's CLDR data names the day in the reader's language ("Thu", "jue").
    return format_datetime(at.astimezone(zone), pattern, locale=lang)


def shift_notice_text(shift: ShiftStart, timezone: str, lang: str = "en") -> str:
    zone = ZoneInfo(timezone)
    return _(
        lang,
        "Reminder: you are on call ({rota}) from {start} until {end}. "
        "Crisis texts come from this number.",
    ).format(
        rota=shift.rota_name[:30],
        start=_when(shift.start, zone, lang, "EEE HH:mm"),
        end=_when(shift.end, zone, lang, "EEE HH:mm"),
    )


def coverage_due(now: datetime, timezone: str) -> str | None:
    """The team-local date whose daily check is due now (from 09:00 local), or None."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.date().isoformat() if local.hour >= COVERAGE_LOCAL_HOUR else None


def coverage_text(
    gaps: list[tuple[datetime, datetime]], timezone: str, lang: str = "en"
) -> str | None:
    if not gaps:
        return None
    zone = ZoneInfo(timezone)
    first = gaps[0]
    hours = sum((end - start).total_seconds() for start, end in gaps) / 3600
    return _(
        lang,
        "COVERAGE GAP: the primary on-call rota has nobody for {hours}h in the next 7 days "
        "({count} gap(s); first {start}-{end}). Fix the rota.",
    ).format(
        hours=f"{hours:.0f}",
        count=len(gaps),
        start=_when(first[0], zone, lang, "EEE dd MMM HH:mm"),
        end=_when(first[1], zone, lang, "HH:mm"),
    )


def claim_once(session: Session, key: str, team_id: int) -> bool:
    """Whether this instance is the one to do `key` (a unique row claims it)."""
    try:
        with session.begin_nested():
            session.add(SentNotice(key=key, team_id=team_id))
            session.flush()
    except IntegrityError:
        return False
    return True


def _team_shifts(session: Session, team: Team, start: datetime, end: datetime) -> list[ShiftStart]:
    result = []
    for rota in session.execute(select(Rota).where(col(Rota.team_id) == team.id)).scalars():
        for shift in rota_shifts(session=session, rota=rota, start=start, end=end):
            # The app's rotas list staff ids as their people.
            staff_id = cast(int, shift.person)
            result.append(ShiftStart(rota.id, rota.name, staff_id, shift.start, shift.end))
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
            if not claim_once(
                session, f"shift:{shift.rota_id}:{staff.id}:{shift.start.isoformat()}", team.id
            ):
                continue
            enqueue(
                session=session,
                team=team,
                to_number=staff.phone,
                body=shift_notice_text(shift, team.timezone, staff.language),
                purpose=MessagePurpose.NOTICE,
                staff_id=staff.id,
                now=now,
            )
            sent += 1
    return sent


UNREACHABLE_HORIZON = timedelta(hours=24)


def unreachable_on_call(shifts: list[ShiftStart], staff: dict[int, Staff]) -> list[Staff]:
    """People with a shift in the list whom no page can wake: opted out of
    texts and no call among their rules (app.escalation.notify_rules)."""
    found: dict[int, Staff] = {}
    for shift in shifts:
        person = staff.get(shift.staff_id)
        if (
            person is not None
            and person.active
            and not notify_rules.reachable(person.notify_rules, sms_ok=not person.sms_opted_out)
        ):
            found[person.id] = person
    return list(found.values())


def send_unreachable_checks(*, session: Session, now: datetime) -> int:
    """Once a day per team (from 09:00 local): the supervisors hear of anyone
    on call in the next 24 h who could not be woken."""
    sent = 0
    for team in session.execute(select(Team)).scalars():
        day = coverage_due(now, team.timezone)
        if day is None:
            continue
        staff = {
            s.id: s
            for s in session.execute(select(Staff).where(Staff.team_id == team.id)).scalars()
        }
        people = unreachable_on_call(
            _team_shifts(session, team, now, now + UNREACHABLE_HORIZON), staff
        )
        if not people or not claim_once(session, f"unreachable:{team.id}:{day}", team.id):
            continue
        names = [p.name for p in people]
        for supervisor in staff.values():
            if supervisor.role == StaffRole.SUPERVISOR and supervisor.active:
                enqueue(
                    session=session,
                    team=team,
                    to_number=supervisor.phone,
                    body=texts.unreachable_on_call_alert(names, supervisor.language),
                    purpose=MessagePurpose.ALERT,
                    staff_id=supervisor.id,
                    now=now,
                )
        log.warning("unreachable_on_call", team_id=team.id, people=len(people))
        sent += 1
    return sent


def send_coverage_checks(*, session: Session, now: datetime) -> int:
    sent = 0
    for team in session.execute(select(Team)).scalars():
        day = coverage_due(now, team.timezone)
        if day is None:
            continue
        gaps = [
            (start, end)
            for start, end, _ in team_coverage_gaps(
                session=session, team_id=team.id, start=now, end=now + COVERAGE_HORIZON
            )
        ]
        if not gaps or not claim_once(session, f"coverage:{team.id}:{day}", team.id):
            continue
        alert_supervisors(
            session=session,
            team=team,
            # Some gaps, so there is always a text.
            body=cast(Callable[[str], str], functools.partial(coverage_text, gaps, team.timezone)),
            now=now,
        )
        log.warning("coverage_gap", team_id=team.id, gaps=len(gaps))
        sent += 1
    return sent


def alert_supervisors(
    *,
    session: Session,
    team: Team,
    body: str | Callable[[str], str],
    now: datetime,
    contact_id: int | None = None,
    level: int | None = None,
    except_staff_id: int | None = None,
    except_staff_ids: set[int] | frozenset[int] = frozenset(),
) -> None:
    """An alert by SMS to each of the team's active supervisors (one who opted out is skipped).
    `body` is the text, or a function of each supervisor's language that writes it."""
    for supervisor in active_supervisors(session=session, team_id=team.id):
        if supervisor.id == except_staff_id or supervisor.id in except_staff_ids:
            continue
        enqueue(
            session=session,
            team=team,
            to_number=supervisor.phone,
            body=body if isinstance(body, str) else body(supervisor.language),
            purpose=MessagePurpose.ALERT,
            contact_id=contact_id,
            staff_id=supervisor.id,
            level=level,
            now=now,
        )
