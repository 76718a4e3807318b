"""The durable escalation engine.

State lives on the contact row (plan, level, next_escalation_at); every step
is written in the same transaction as the outbox rows it causes, so a step
happens exactly once or not at all. The functions here load rows, call the
pure planner with `now`, and write back the difference.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlmodel import Session, col

from app.clients.models import Client
from app.contacts import service as contacts
from app.contacts.models import Channel, Contact, ContactEvent, ContactStatus, EventKind
from app.db import per_transaction
from app.escalation import paging
from app.escalation.notices import alert_supervisors
from app.escalation.staff_texts import staff_sms
from app.messaging import texts
from app.messaging.models import FINAL_FAILURES, MessagePurpose, OutboundMessage, OutboxStatus
from app.messaging.outbox import enqueue
from app.oncall.service import oncall_snapshot
from app.ops.metrics import ESCALATIONS, UNANSWERED
from app.routing import (
    Level,
    RotaOnCallInfo,
    RoutingContext,
    StaffInfo,
    fallback_plan,
    is_available,
    parse_policy,
    plan,
    plan_from_json,
    plan_to_json,
    speakers_first_after,
)
from app.settings import Settings
from app.teams.models import Staff, Team
from app.teams.service import (
    active_supervisors,
    has_call_rule,
    leave_now,
    team_staff,
    unreachable_reason,
)

log = structlog.get_logger(__name__)


# ---------------------------------------------------------------- loading


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


# ---------------------------------------------------------------- acting


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


def level_deadline(level: Level, now: datetime) -> datetime:
    """When a level notified at `now` escalates unanswered."""
    return now + timedelta(seconds=level.timeout_seconds)


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


def plan_contact(
    *,
    session: Session,
    contact: Contact,
    team: Team,
    now: datetime,
    channel: str,
    retried_on_database_error: bool = False,
) -> tuple[Level, ...]:
    """Compute and store the contact's route plan (SMS and voice alike)."""
    levels = plan_route(
        session=session,
        contact=contact,
        team=team,
        now=now,
        channel=channel,
        retried_on_database_error=retried_on_database_error,
    )
    record_plan(session=session, contact=contact, levels=levels, now=now)
    return levels


def speakers_forward(*, session: Session, contact: Contact, team: Team, now: datetime) -> bool:
    """The conversation's language became known after its first levels were
    told (a later text in Spanish): on a team that pages speakers first, the
    on-call levels not yet told whose person speaks it move ahead of the
    others. Nothing already told, and no other level, moves. Whether the
    plan changed (a `planned` event records the new order)."""
    if (
        not team.page_speakers_first
        or contact.status not in (ContactStatus.OPEN, ContactStatus.ACKNOWLEDGED)
        or not contact.plan
        or not contact.language
    ):
        return False
    levels = plan_from_json(contact.plan)
    speakers = {
        staff.id
        for staff in team_staff(session=session, team_id=team.id)
        if contact.language in (staff.languages_spoken or ())
    }
    moved = speakers_first_after(levels, after=contact.level, speakers=speakers)
    if moved == levels:
        return False
    record_plan(session=session, contact=contact, levels=moved, now=now)
    return True


def start(
    *,
    session: Session,
    contact: Contact,
    team: Team,
    now: datetime,
    settings: Settings,
    levels: tuple[Level, ...] | None = None,
) -> None:
    """Plan the contact's route (unless `levels` were planned already) and notify its first level."""
    if levels is None:
        plan_contact(
            session=session,
            contact=contact,
            team=team,
            now=now,
            channel=Channel.SMS if contact.channel == Channel.SMS else Channel.VOICE,
            retried_on_database_error=contact.channel == Channel.SMS,
        )
    else:
        record_plan(session=session, contact=contact, levels=levels, now=now)
    notify_level(session=session, contact=contact, team=team, number=1, now=now, settings=settings)


def notify_level(
    *,
    session: Session,
    contact: Contact,
    team: Team,
    number: int,
    now: datetime,
    settings: Settings,
) -> None:
    levels = plan_from_json(contact.plan)
    level: Level = levels[number - 1]
    contact.level = number
    if level.kind == "fallback":
        finish_unanswered(
            session=session, contact=contact, team=team, level=level, now=now, settings=settings
        )
        return
    # Asked now, not when the plan was made: people opt out, go on leave or
    # are deactivated while a contact waits at an earlier level.
    unreachable = {
        staff_id: reason
        for staff_id in level.staff_ids
        if (
            reason := unreachable_reason(
                session=session, staff=session.get(Staff, staff_id), now=now
            )
        )
        is not None
    }
    # Set before the messages are queued, so the one flush that writes them
    # writes the contact's new level and deadline with them (one UPDATE).
    contact.next_escalation_at = level_deadline(level, now)

    reached = 0
    for staff_id in level.staff_ids:
        if staff_id in unreachable:
            contacts.record_event(
                session=session,
                contact=contact,
                kind=EventKind.NOTIFY_SUPPRESSED,
                at=now,
                staff_id=staff_id,
                level=number,
                data={"label": level.label, "copy": False, "reason": unreachable[staff_id]},
            )
            continue
        # Their notification rules: what is due now goes now, the rest waits for the tick.
        if paging.page_person(
            session=session,
            contact=contact,
            team=team,
            staff=session.get_one(Staff, staff_id),
            level=number,
            purpose=paging.NOTIFY,
            now=now,
            settings=settings,
            label=level.label,
        ):
            reached += 1
        else:
            unreachable[staff_id] = "opted_out"
    # Copies (supervisors told at level 1) are texts only: they are not asked to answer.
    for staff_id in level.copy_staff_ids:
        staff = session.get_one(Staff, staff_id)
        message = enqueue(
            session=session,
            team=team,
            to_number=staff.phone,
            body=staff_sms(
                session=session,
                contact=contact,
                staff_id=staff_id,
                level=number,
                purpose=MessagePurpose.NOTIFY,
                now=now,
                settings=settings,
            ),
            purpose=MessagePurpose.NOTIFY,
            contact_id=contact.id,
            staff_id=staff_id,
            level=number,
            now=now,
        )
        contacts.record_event(
            session=session,
            contact=contact,
            kind=EventKind.NOTIFIED if message else EventKind.NOTIFY_SUPPRESSED,
            at=now,
            staff_id=staff_id,
            level=number,
            data={
                "label": level.label,
                "copy": True,
                **({"message_id": message.id} if message else {"reason": "opted_out"}),
            },
        )
    session.add(contact)
    if not reached:
        # Nobody on this level can be reached: waiting out its timeout would
        # only keep the client waiting. The next level is told now.
        record_skipped_level(
            session=session,
            contact=contact,
            level=number,
            label=level.label,
            unreachable=list(unreachable.items()),
            now=now,
            team=team,
        )
        advance(
            session=session,
            contact=contact,
            team=team,
            now=now,
            reason="level_skipped",
            settings=settings,
        )


def advance(
    *,
    session: Session,
    contact: Contact,
    team: Team,
    now: datetime,
    reason: str,
    settings: Settings,
) -> bool:
    """Notify the next level. False (nothing changes) unless the contact is
    still open and has a level left."""
    if (
        contact.status != ContactStatus.OPEN
        or not contact.plan
        or contact.level >= len(contact.plan)
    ):
        return False
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.ESCALATED,
        at=now,
        level=contact.level,
        data={"reason": reason, "to_level": contact.level + 1},
    )
    ESCALATIONS.labels(reason).inc()
    log.info("contact_escalated", contact_id=contact.id, to_level=contact.level + 1, reason=reason)
    notify_level(
        session=session,
        contact=contact,
        team=team,
        number=contact.level + 1,
        now=now,
        settings=settings,
    )
    return True


def finish_unanswered(
    *,
    session: Session,
    contact: Contact,
    team: Team,
    level: Level,
    now: datetime,
    settings: Settings,
) -> None:
    """End of the plan: tell the sender how to reach the external fallback,
    alert the supervisors, and mark the contact unanswered (rare, and visible)."""
    told = enqueue(
        session=session,
        team=team,
        to_number=contact.from_number,
        body=texts.fallback_text(
            texts.team_text(team, "fallback_text", contact.language), team.fallback_number
        ),
        purpose=MessagePurpose.FALLBACK,
        contact_id=contact.id,
        level=level.number,
        now=now,
    )
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.FALLBACK_USED,
        at=now,
        level=level.number,
        data={"number": team.fallback_number, "sender_told": told is not None},
    )

    # Every active supervisor, by their notification rules (a call wakes one
    # who opted out of texts).
    for supervisor in active_supervisors(session=session, team_id=team.id):
        paging.page_person(
            session=session,
            contact=contact,
            team=team,
            staff=supervisor,
            level=level.number,
            purpose=paging.ALERT,
            now=now,
            settings=settings,
        )
    contact.status = ContactStatus.UNANSWERED
    # An unanswered contact keeps calling: the tick alerts the supervisors
    # again at this time, until someone takes or resolves it.
    contact.next_escalation_at = now + timedelta(seconds=team.unanswered_repeat_seconds)
    contacts.record_event(
        session=session, contact=contact, kind=EventKind.UNANSWERED, at=now, level=level.number
    )
    UNANSWERED.inc()
    log.warning("contact_unanswered", contact_id=contact.id, team_id=team.id)
    session.add(contact)


# How often a level whose notifications have not left yet is looked at again.
NOT_SENT_POLL = timedelta(seconds=10)
_STILL_LEAVING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def wait_for_notifications(*, session: Session, contact: Contact, now: datetime) -> datetime | None:
    """When the current level's time is up but its notifications have not
    left (Twilio unreachable, retrying), or left later than the level began:
    the new deadline, counted from when they left. None: the level really
    had its time. A carrier failure is not "nobody answered"."""
    if not contact.plan or not 1 <= contact.level <= len(contact.plan):
        return None
    level = plan_from_json(contact.plan)[contact.level - 1]
    if level.kind == "fallback" or contact.next_escalation_at is None:
        return None
    timeout = timedelta(seconds=level.timeout_seconds)
    # When this level was told (a replanned contact reuses level numbers: the latest).
    began = session.execute(
        select(func.max(ContactEvent.at)).where(
            col(ContactEvent.contact_id) == contact.id,
            col(ContactEvent.kind) == EventKind.NOTIFIED,
            col(ContactEvent.level) == contact.level,
        )
    ).scalar_one_or_none()
    if began is None:
        return None
    rows = session.execute(
        select(col(OutboundMessage.status), col(OutboundMessage.updated_at)).where(
            col(OutboundMessage.contact_id) == contact.id,
            col(OutboundMessage.level) == contact.level,
            col(OutboundMessage.purpose) == MessagePurpose.NOTIFY,
            OutboundMessage.created_at >= began,
        )
    ).all()
    if any(status in _STILL_LEAVING for status, _ in rows):
        return now + NOT_SENT_POLL
    left = [at for status, at in rows if status not in FINAL_FAILURES]
    if left:
        due = max(left) + timeout
        if due > now:
            return due
    return None


def realert_unanswered(
    *, session: Session, contact: Contact, team: Team, now: datetime, settings: Settings
) -> None:
    """Nobody has taken an unanswered contact yet: the supervisors hear of it
    again, and again after the team's `unanswered_repeat_seconds`, each by
    their notification rules (a call wakes one whose phone is on silent)."""
    for supervisor in active_supervisors(session=session, team_id=team.id):
        paging.page_person(
            session=session,
            contact=contact,
            team=team,
            staff=supervisor,
            level=contact.level,
            purpose=paging.REALERT,
            now=now,
            settings=settings,
        )
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.UNANSWERED_REALERTED,
        at=now,
        level=contact.level,
    )
    contact.next_escalation_at = now + timedelta(seconds=team.unanswered_repeat_seconds)
    session.add(contact)


def on_message_failed(
    session: Session, message: OutboundMessage, now: datetime, settings: Settings
) -> None:
    """A staff notification that Twilio could not deliver escalates at once
    when nobody else at that level can still receive theirs; so does a
    client's words relayed to staff. A staff member's words that did not
    reach the client are never silent: they are told to call."""
    if (
        message.purpose not in (MessagePurpose.NOTIFY, MessagePurpose.RELAY)
        or message.contact_id is None
    ):
        return
    contact = contacts.lock_contact(session=session, contact_id=message.contact_id)
    if contact is None:
        return
    if message.purpose == MessagePurpose.RELAY:
        _relay_failed(session, contact, message, now, settings)
        return
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.DELIVERY_FAILED,
        at=now,
        staff_id=message.staff_id,
        level=message.level,
        data={"message_id": message.id, "error_code": message.error_code},
    )
    if contact.status != ContactStatus.OPEN or message.level != contact.level:
        return
    still_deliverable = session.execute(
        select(col(OutboundMessage.id)).where(
            col(OutboundMessage.contact_id) == contact.id,
            col(OutboundMessage.level) == contact.level,
            col(OutboundMessage.purpose) == MessagePurpose.NOTIFY,
            col(OutboundMessage.status).not_in(FINAL_FAILURES),
            col(OutboundMessage.id) != message.id,
        )
    ).first()
    if still_deliverable:
        return
    team = session.get_one(Team, contact.team_id)
    advance(
        session=session,
        contact=contact,
        team=team,
        now=now,
        reason="delivery_failed",
        settings=settings,
    )


def _another_part_failed(session: Session, message: OutboundMessage) -> bool:
    """Whether another part of the same relay (queued together: same contact,
    sender, recipient and moment) has already failed. The contact is locked,
    so of several parts failing at once exactly one finds none."""
    return (
        session.execute(
            select(col(OutboundMessage.id)).where(
                col(OutboundMessage.contact_id) == message.contact_id,
                col(OutboundMessage.purpose) == MessagePurpose.RELAY,
                col(OutboundMessage.to_number) == message.to_number,
                col(OutboundMessage.created_at) == message.created_at,
                col(OutboundMessage.id) != message.id,
                col(OutboundMessage.status).in_(FINAL_FAILURES),
                col(OutboundMessage.staff_id).is_(None)
                if message.staff_id is None
                else col(OutboundMessage.staff_id) == message.staff_id,
            )
        ).first()
        is not None
    )


def _relay_failed(
    session: Session, contact: Contact, message: OutboundMessage, now: datetime, settings: Settings
) -> None:
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.DELIVERY_FAILED,
        at=now,
        staff_id=message.staff_id,
        level=message.level,
        data={"message_id": message.id, "error_code": message.error_code, "relay": True},
    )
    if _another_part_failed(session, message):
        # One relay sent in parts fails part by part: its sender was told,
        # or its level passed on, at the first part.
        return
    team = session.get_one(Team, contact.team_id)
    staff = session.get(Staff, message.staff_id) if message.staff_id else None
    if message.to_number == contact.from_number:
        if staff is not None:
            enqueue(
                session=session,
                team=team,
                to_number=staff.phone,
                body=texts.relay_not_delivered(
                    contact_id=contact.id, from_number=contact.from_number, lang=staff.language
                ),
                purpose=MessagePurpose.COMMAND_REPLY,
                contact_id=contact.id,
                staff_id=staff.id,
                now=now,
            )
        return
    # The client's words did not reach the person who holds (or was paged
    # for) the contact: like a failed notification, the next level now.
    if contact.status == ContactStatus.ACKNOWLEDGED and contact.acknowledged_by == message.staff_id:
        contact.status = ContactStatus.OPEN
        contact.acknowledged_by = None
        contact.acknowledged_at = None
        contacts.record_event(
            session=session,
            contact=contact,
            kind=EventKind.PASSED,
            at=now,
            staff_id=message.staff_id,
            level=contact.level,
            data={"reason": "relay_failed"},
        )
    if contact.status == ContactStatus.OPEN:
        advance(
            session=session,
            contact=contact,
            team=team,
            now=now,
            reason="delivery_failed",
            settings=settings,
        )
