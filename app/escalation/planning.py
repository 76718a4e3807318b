"""A contact's route: the routing context loaded once per transaction (staff,
leave, who is on call), the pure planner asked with `now`, and the plan
written on the contact with its first deadline."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta

import structlog
from sqlmodel import Session

from app.clients.models import Client
from app.contacts import service as contacts
from app.contacts.models import Channel, Contact, EventKind
from app.db import per_transaction
from app.escalation.notices import alert_supervisors
from app.messaging import texts
from app.oncall.service import oncall_snapshot
from app.routing import (
    Level,
    RotaOnCallInfo,
    RoutingContext,
    StaffInfo,
    fallback_plan,
    is_available,
    parse_policy,
    plan,
    plan_to_json,
)
from app.teams.models import Staff, Team
from app.teams.service import (
    has_call_rule,
    leave_now,
    team_staff,
)

log = structlog.get_logger(__name__)


def _leave_now(
    *, session: Session, staff_rows: list[Staff], team_id: int, now: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Staff id -> their leave covering `now`; read once per transaction and `now`."""
    return leave_now(session=session, team_id=team_id, now=now)


def routing_context(
    *, session: Session, team: Team, contact: Contact, now: datetime, channel: str
) -> RoutingContext:
    # Reads only what opening a contact never changes (staff, leave, client,
    # rotas): nothing the transaction added needs flushing first.
    with session.no_autoflush:
        return _routing_context(
            session=session, team=team, contact=contact, now=now, channel=channel
        )


def _routing_context(
    *, session: Session, team: Team, contact: Contact, now: datetime, channel: str
) -> RoutingContext:
    staff_rows = team_staff(session=session, team_id=team.id)
    leaves = _leave_now(session=session, staff_rows=staff_rows, team_id=team.id, now=now)
    staff = {
        s.id: StaffInfo(
            id=s.id,
            role=s.role,
            active=s.active,
            sms_ok=not s.sms_opted_out,
            call_rule=has_call_rule(s),
            on_leave=bool(leaves.get(s.id)),
            languages_spoken=tuple(s.languages_spoken or ()),
            available=is_available(
                working_hours=s.working_hours,
                leaves=leaves.get(s.id, []),
                timezone=team.timezone,
                now=now,
            ),
        )
        for s in staff_rows
    }
    client = session.get(Client, contact.client_id) if contact.client_id else None
    # The identity map holds rows only while something references them: keep
    # these for the transaction so notifying (names, phones) reads no row twice.
    session.info.setdefault("routing_rows", []).extend([*staff_rows, client])
    # Texts routed together share one `now`: who is on call is read once for them.
    snapshot = per_transaction(
        session,
        "oncall_snapshot",
        (team.id, now),
        lambda: oncall_snapshot(session=session, team_id=team.id, at=now),
    )
    return RoutingContext(
        client_assigned_id=client.assigned_case_manager_id if client else None,
        client_backup_id=client.backup_case_manager_id if client else None,
        staff=staff,
        on_call=tuple(
            RotaOnCallInfo(rota_id=r.rota_id, priority=r.priority, staff_id=r.staff_id)
            for r in snapshot
        ),
        policy=parse_policy(team.escalation_policy),
        ack_timeout_seconds=team.dial_timeout_seconds
        if channel == "voice_live"
        else team.ack_timeout_seconds,
        priority_timeout_seconds=min(team.priority_ack_timeout_seconds, team.ack_timeout_seconds),
        high_priority=contact.priority == "high",
        fallback_number=team.fallback_number,
        language=contact.language,
        speakers_first=team.page_speakers_first,
        channel=Channel.VOICE if channel.startswith(Channel.VOICE) else Channel.SMS,
    )


def plan_route(
    *,
    session: Session,
    contact: Contact,
    team: Team,
    now: datetime,
    channel: str,
    retried_on_database_error: bool = False,
) -> tuple[Level, ...]:
    """The contact's route plan, computed (nothing stored). Needs only what
    the contact is (client, priority), not its row: a text's contact is
    planned before it is inserted, and inserted with its plan.

    `retried_on_database_error`: the caller rolls back and retries when the
    database fails (the inbox does for texts), so no savepoint is needed to
    fall back to the external line after one (a call cannot wait: voice
    keeps the savepoint)."""
    try:
        with nullcontext() if retried_on_database_error else session.begin_nested():
            return plan(
                routing_context(
                    session=session, team=team, contact=contact, now=now, channel=channel
                ),
                now,
            )
    except Exception as exc:
        # A broken rota or policy must not leave a person in crisis unrouted:
        # fall through to the external crisis line (and the supervisors' alert).
        log.error(
            "routing_failed",
            contact_id=contact.id,
            team_id=team.id,
            error=type(exc).__name__,
            exc_info=exc,
        )
        return fallback_plan(team.fallback_number)


# After a level's last call rule fires: the time to ring, pick up and press 1.
CALL_ANSWER_WINDOW = timedelta(seconds=60)


def level_deadline(level: Level, now: datetime, *, last_call_after: int | None = None) -> datetime:
    """When a level notified at `now` escalates unanswered. A level of a text
    conversation whose people can only be called (texts to them are blocked)
    ends once its last call has had time to be answered: nobody there can
    read the client's next words, so the next level does not wait out the
    whole timeout for them."""
    full = now + timedelta(seconds=level.timeout_seconds)
    if last_call_after is None:
        return full
    return min(full, now + timedelta(seconds=last_call_after) + CALL_ANSWER_WINDOW)


def set_route(contact: Contact, levels: tuple[Level, ...], now: datetime) -> None:
    """Put the plan and its first level's deadline on a contact not yet
    inserted: the INSERT carries them, and `start` (which sets the same
    values) then changes nothing on the row. Without this, every new contact
    was an INSERT then an UPDATE of an indexed column (a second copy of the
    row and of its nine index entries on PostgreSQL)."""
    contact.plan = plan_to_json(levels)
    contact.level = 1
    if levels[0].kind != "fallback":
        contact.next_escalation_at = level_deadline(levels[0], now)


def record_plan(
    *, session: Session, contact: Contact, levels: tuple[Level, ...], now: datetime
) -> None:
    contact.plan = plan_to_json(levels)
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.PLANNED,
        at=now,
        data={
            "levels": [
                {"level": lv.number, "kind": lv.kind, "staff_ids": list(lv.staff_ids)}
                for lv in levels
            ]
        },
    )
    for skipped in getattr(levels, "skipped", ()):
        record_skipped_level(
            session=session,
            contact=contact,
            level=None,
            label=skipped.label,
            unreachable=list(skipped.unreachable),
            now=now,
        )


def record_skipped_level(
    *,
    session: Session,
    contact: Contact,
    level: int | None,
    label: str,
    unreachable: list[tuple[int, str]],
    now: datetime,
    team: Team | None = None,
) -> None:
    """A level nobody on it can be reached on: on the timeline with why, and
    the supervisors told who could not be reached (they can fix the rota or
    take the contact)."""
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.LEVEL_SKIPPED,
        at=now,
        level=level,
        data={
            "label": label,
            "unreachable": [
                {"staff_id": staff_id, "reason": reason} for staff_id, reason in unreachable
            ],
        },
    )
    team = team or session.get_one(Team, contact.team_id)
    names = [
        (staff.name if staff else f"staff {staff_id}", reason)
        for staff_id, reason in unreachable
        for staff in [session.get(Staff, staff_id)]
    ]
    alert_supervisors(
        session=session,
        team=team,
        body=lambda lang: texts.level_skipped_alert(
            contact_id=contact.id, label=label, unreachable=names, lang=lang
        ),
        now=now,
        contact_id=contact.id,
        level=level,
        except_staff_ids={staff_id for staff_id, _ in unreachable},
    )
