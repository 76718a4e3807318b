"""The durable escalation engine.

(Over 350 lines: notifying a level, deciding whether its people can be
reached or only called, advancing and the unanswered end read and write the
same contact row and level in one transaction; apart, they would only call
each other's insides.)

State lives on the contact row (plan, level, next_escalation_at); every step
is written in the same transaction as the outbox rows it causes, so a step
happens exactly once or not at all. The functions here load rows, call the
pure planner with `now`, and write back the difference.

Here: starting a contact's route, notifying a level, advancing, the
unanswered end. Beside it: `planning` (the routing context and the plan
written), `staff_texts` (what a paged person reads), `failures` (a message
that was not delivered), `tick` (due contacts, claimed once, and whether a
level really had its time).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlmodel import Session, col

from app.contacts import service as contacts
from app.contacts.models import Channel, Contact, ContactStatus, EventKind
from app.escalation import notify_rules, paging
from app.escalation.models import PageStep
from app.escalation.planning import (
    CALL_ANSWER_WINDOW,
    level_deadline,
    plan_route,
    record_plan,
    record_skipped_level,
)
from app.messaging import texts
from app.messaging.models import MessagePurpose
from app.messaging.outbox import enqueue
from app.ops.metrics import ESCALATIONS, UNANSWERED
from app.routing import (
    Level,
    plan_from_json,
    speakers_first_after,
)
from app.settings import Settings
from app.teams.models import Staff, Team
from app.teams.service import team_staff, unreachable_reason

log = structlog.get_logger(__name__)


def plan_contact(
    *, session: Session, contact: Contact, team: Team, now: datetime, channel: str
) -> tuple[Level, ...]:
    """Compute and store the contact's route plan (SMS and voice alike)."""
    levels = plan_route(session=session, contact=contact, team=team, now=now, channel=channel)
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
        levels = plan_route(
            session=session,
            contact=contact,
            team=team,
            now=now,
            channel=Channel.SMS if contact.channel == Channel.SMS else Channel.VOICE,
            retried_on_database_error=contact.channel == Channel.SMS,
        )
    record_plan(session=session, contact=contact, levels=levels, now=now)
    notify_level(session=session, contact=contact, team=team, number=1, now=now, settings=settings)


def _unreachable_at(session: Session, level: Level, now: datetime) -> dict[int, str]:
    """Who on the level cannot be reached now, and why. Asked now, not when
    the plan was made: people opt out, go on leave or are deactivated while
    a contact waits at an earlier level."""
    return {
        staff_id: reason
        for staff_id in level.staff_ids
        if (
            reason := unreachable_reason(
                session=session, staff=session.get(Staff, staff_id), now=now
            )
        )
        is not None
    }


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
    unreachable = _unreachable_at(session, level, now)
    # Set before the messages are queued, so the one flush that writes them
    # writes the contact's new level and deadline with them (one UPDATE).
    contact.next_escalation_at = level_deadline(
        level,
        now,
        last_call_after=_last_call_if_none_reads(session, contact, team, level, unreachable),
    )

    page = paging.Page(
        contact=contact, team=team, level=number, purpose=paging.NOTIFY, label=level.label
    )
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
            page=page,
            staff=session.get_one(Staff, staff_id),
            now=now,
            settings=settings,
        ):
            reached += 1
        else:
            unreachable[staff_id] = "opted_out"
    # Copies (supervisors told at level 1) are texts only: they are not asked to answer.
    for staff_id in level.copy_staff_ids:
        message = paging.text_staff(
            session=session,
            page=page,
            staff=session.get_one(Staff, staff_id),
            now=now,
            settings=settings,
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


def _last_call_if_none_reads(
    session: Session, contact: Contact, team: Team, level: Level, unreachable: dict[int, str]
) -> int | None:
    """For a text conversation whose level's people can all be called but
    none texted: when the last of their calls is due (seconds after now)."""
    if contact.channel != Channel.SMS:
        return None
    due = []
    for staff_id in level.staff_ids:
        if staff_id in unreachable:
            continue
        rules = paging.rules_for(session.get_one(Staff, staff_id), team, contact)
        if any(rule.channel == notify_rules.SMS for rule in rules):
            return None
        due += [rule.after_seconds for rule in rules]
    return max(due, default=None)


def only_calls_reach_level(
    *, session: Session, contact: Contact, team: Team, now: datetime
) -> bool:
    """A text conversation whose current level's people can be called but
    none texted: nobody there can read the client's words."""
    if not contact.plan or not 1 <= contact.level <= len(contact.plan):
        return False
    level = plan_from_json(contact.plan)[contact.level - 1]
    unreachable = _unreachable_at(session, level, now)
    return _last_call_if_none_reads(session, contact, team, level, unreachable) is not None


def level_unreadable(*, session: Session, contact: Contact, team: Team, now: datetime) -> None:
    """Someone paged at the contact's current level can no longer be
    texted. When nobody there can read the client's words any more (they
    can still be called), the level ends once its calls have had time to be
    answered instead of at its full timeout."""
    if not only_calls_reach_level(session=session, contact=contact, team=team, now=now):
        return
    last_call = session.execute(
        select(func.max(col(PageStep.due_at))).where(
            col(PageStep.contact_id) == contact.id,
            col(PageStep.level) == contact.level,
            col(PageStep.status) == "pending",
            col(PageStep.channel) == notify_rules.CALL,
        )
    ).scalar()
    end = max(now, last_call or now) + CALL_ANSWER_WINDOW
    if contact.next_escalation_at is None or end < contact.next_escalation_at:
        contact.next_escalation_at = end
        session.add(contact)


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
    alert = paging.Page(contact=contact, team=team, level=level.number, purpose=paging.ALERT)
    paging.page_supervisors(session=session, page=alert, now=now, settings=settings)
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


def realert_unanswered(
    *, session: Session, contact: Contact, team: Team, now: datetime, settings: Settings
) -> None:
    """Nobody has taken an unanswered contact yet: the supervisors hear of it
    again, and again after the team's `unanswered_repeat_seconds`, each by
    their notification rules (a call wakes one whose phone is on silent)."""
    again = paging.Page(contact=contact, team=team, level=contact.level, purpose=paging.REALERT)
    paging.page_supervisors(session=session, page=again, now=now, settings=settings)
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.UNANSWERED_REALERTED,
        at=now,
        level=contact.level,
    )
    contact.next_escalation_at = now + timedelta(seconds=team.unanswered_repeat_seconds)
    session.add(contact)
