"""A contact always belongs to a reachable person: when its holder stops
answering, goes off duty or can no longer be reached, the contact is handed
on, and every handover is on the timeline.

Kept whole: the reply timeout, the shift end and the holder who
became unreachable all hand on through the same release and fresh plan, and
each decides with what the others write (`handover_due_at`, `reply_reminders`).

Two ways on:
- back into escalation at the next level of its plan (the holder did not
  answer the client: the reply timeout);
- a fresh plan from now, without the former holder (they went off duty or
  became unreachable: whoever is on call now is told first).

Either way the contact is `open` again with nobody holding it, the people
told get the notification with its link (the conversation and the plan),
and the former holder is told where it went. Nothing here commits.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlmodel import Session, col

from app.contacts import service as contacts
from app.contacts.models import Channel, Contact, ContactEvent, ContactStatus, EventKind
from app.escalation import engine, paging, planning
from app.escalation.staff_texts import KEEP_WINDOW
from app.messaging import texts
from app.messaging.models import MessagePurpose
from app.messaging.outbox import enqueue
from app.oncall.service import oncall_snapshot
from app.routing import Plan, in_working_hours, plan_from_json
from app.settings import Settings
from app.teams.models import Staff, Team
from app.teams.service import unreachable_reason

log = structlog.get_logger(__name__)

# Reasons a contact leaves its holder (the `handed_over` event's `reason`).
REPLY_TIMEOUT = "reply_timeout"
SHIFT_ENDED = "shift_ended"
DEACTIVATED = "deactivated"
OPTED_OUT = "opted_out"
ON_LEAVE = "on_leave"


def _release(
    *, session: Session, contact: Contact, team: Team, now: datetime, reason: str
) -> int | None:
    """The holder lets go: the contact is open again, held by nobody, and
    the former holder is told where it went. Returns who held it."""
    former = contact.acknowledged_by
    contact.status = ContactStatus.OPEN
    contacts.set_holder(contact, None, None)
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.HANDED_OVER,
        at=now,
        staff_id=former,
        level=contact.level,
        data={"reason": reason, "from_staff_id": former},
    )
    _tell_former_holder(
        session=session, team=team, contact=contact, former=former, now=now, reason=reason
    )
    return former


def _tell_former_holder(
    *,
    session: Session,
    team: Team,
    contact: Contact,
    former: int | None,
    now: datetime,
    reason: str,
) -> None:
    staff = session.get(Staff, former) if former else None
    if staff is None or not staff.active:
        return
    enqueue(
        session=session,
        team=team,
        to_number=staff.phone,
        body=texts.contact_moved(contact_id=contact.id, reason=reason, lang=staff.language),
        purpose=MessagePurpose.COMMAND_REPLY,
        contact_id=contact.id,
        staff_id=staff.id,
        now=now,
    )


def to_next_level(
    *, session: Session, contact: Contact, team: Team, now: datetime, settings: Settings
) -> None:
    """The holder did not reply in time: back into escalation at the level
    after the one last told."""
    reason = REPLY_TIMEOUT
    former = _release(session=session, contact=contact, team=team, now=now, reason=reason)
    if not engine.advance(
        session=session, contact=contact, team=team, now=now, reason=reason, settings=settings
    ):
        # The plan has no level left: whoever is on call now, then the fallback.
        _replan(
            session=session, contact=contact, team=team, now=now, settings=settings, without=former
        )


def fresh_plan(
    *, session: Session, contact: Contact, team: Team, now: datetime, without: int | None
) -> Plan:
    """The route from now (who is on call now, then the supervisors, then the
    fallback; the client's case managers were tried when it opened), never
    the person it is being taken from."""
    levels = planning.plan_route(
        session=session,
        contact=contact,
        team=team,
        now=now,
        channel=Channel.SMS if contact.channel == Channel.SMS else "voice_missed",
    )
    kept = []
    for level in levels:
        if level.kind in ("assigned", "backup"):
            continue  # off-hours case managers are not "on call now"
        staff_ids = tuple(s for s in level.staff_ids if s != without)
        if level.kind != "fallback" and not staff_ids:
            continue
        kept.append((level, staff_ids))

    renumbered = [
        replace(
            level,
            number=i + 1,
            staff_ids=staff_ids,
            copy_staff_ids=tuple(c for c in level.copy_staff_ids if c != without),
        )
        for i, (level, staff_ids) in enumerate(kept)
    ]
    return Plan(renumbered, getattr(levels, "skipped", ()))


def next_person(
    *, session: Session, contact: Contact, team: Team, now: datetime, without: int | None
) -> Staff | None:
    """Who the contact would pass to now (the first person of a fresh plan)."""
    levels = fresh_plan(session=session, contact=contact, team=team, now=now, without=without)
    first = levels[0] if levels else None
    if first is None or not first.staff_ids:
        return None
    return session.get(Staff, first.staff_ids[0])


def _replan(
    *,
    session: Session,
    contact: Contact,
    team: Team,
    now: datetime,
    settings: Settings,
    without: int | None,
) -> None:
    levels = fresh_plan(session=session, contact=contact, team=team, now=now, without=without)
    planning.record_plan(session=session, contact=contact, levels=levels, now=now)
    engine.notify_level(
        session=session, contact=contact, team=team, number=1, now=now, settings=settings
    )


def to_whoever_is_on_call(
    *,
    session: Session,
    contact: Contact,
    team: Team,
    now: datetime,
    reason: str,
    settings: Settings,
) -> None:
    """The holder went off duty or cannot be reached: a fresh plan from now."""
    former = _release(session=session, contact=contact, team=team, now=now, reason=reason)
    _replan(session=session, contact=contact, team=team, now=now, settings=settings, without=former)
    log.info("contact_handed_over", contact_id=contact.id, reason=reason)


def held_by(*, session: Session, staff_id: int) -> list[Contact]:
    return list(
        session.execute(
            select(Contact)
            .where(
                col(Contact.acknowledged_by) == staff_id,
                col(Contact.status) == ContactStatus.ACKNOWLEDGED,
            )
            .order_by(col(Contact.created_at), col(Contact.id))
        ).scalars()
    )


def hand_on_contacts_of(
    *, session: Session, staff: Staff, now: datetime, reason: str, settings: Settings
) -> list[int]:
    """At once, every contact this person holds goes to whoever is on call now,
    and every open contact whose current level now has nobody reachable moves
    to its next level (they texted STOP, were deactivated). Returns the ids
    of the contacts moved."""
    team = session.get_one(Team, staff.team_id)
    moved = []
    for held in held_by(session=session, staff_id=staff.id):
        contact = contacts.lock_contact(session=session, contact_id=held.id)
        assert contact is not None  # held_by just read it
        if contact.status != ContactStatus.ACKNOWLEDGED or contact.acknowledged_by != staff.id:
            continue
        to_whoever_is_on_call(
            session=session, contact=contact, team=team, now=now, reason=reason, settings=settings
        )
        moved.append(contact.id)
    waiting = select(col(ContactEvent.contact_id)).where(
        col(ContactEvent.staff_id) == staff.id, col(ContactEvent.kind) == EventKind.NOTIFIED
    )
    for row in session.execute(
        select(col(Contact.id)).where(
            col(Contact.team_id) == staff.team_id,
            col(Contact.status) == ContactStatus.OPEN,
            col(Contact.id).in_(waiting),
        )
    ).scalars():
        contact = contacts.lock_contact(session=session, contact_id=row)
        assert contact is not None  # the query above just read it
        if contact.status != ContactStatus.OPEN or not contact.plan:
            continue
        level = plan_from_json(contact.plan)[contact.level - 1]
        if staff.id not in level.staff_ids:
            continue
        if all(
            unreachable_reason(session=session, staff=session.get(Staff, s), now=now) is not None
            for s in level.staff_ids
        ):
            planning.record_skipped_level(
                session=session,
                contact=contact,
                level=contact.level,
                label=level.label,
                unreachable=[
                    (
                        s,
                        unreachable_reason(session=session, staff=session.get(Staff, s), now=now)
                        or reason,
                    )
                    for s in level.staff_ids
                ],
                now=now,
                team=team,
            )
            engine.advance(
                session=session,
                contact=contact,
                team=team,
                now=now,
                reason="level_skipped",
                settings=settings,
            )
            moved.append(contact.id)
        else:
            engine.level_unreadable(session=session, contact=contact, team=team, now=now)
    return moved


# ---------------------------------------------------------------- reply timeout


def client_waiting(*, contact: Contact, team: Team, now: datetime) -> None:
    """A client's text reached the holder: their reply is due within the
    team's reply timeout (an earlier deadline still running stays)."""
    if contact.status != ContactStatus.ACKNOWLEDGED:
        return
    if contact.next_escalation_at is None:
        contact.next_escalation_at = now + timedelta(seconds=team.reply_timeout_seconds)
        contact.reply_reminders = 0


def holder_answered(*, contact: Contact) -> None:
    """The holder replied (SMS, voice, the API or the console) or said KEEP:
    nobody is waiting on them now."""
    if contact.status == ContactStatus.ACKNOWLEDGED:
        contact.next_escalation_at = None
        contact.reply_reminders = 0


def keep(*, session: Session, contact: Contact, staff_id: int, now: datetime, via: str) -> None:
    """The holder stays with the contact (KEEP by SMS, or 1 on a page call):
    nobody waits on them now, and a shift end's handover is called off."""
    holder_answered(contact=contact)
    if contact.handover_due_at is not None:
        contact.handover_due_at = None
        contact.holder_kept_at = now
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.KEPT,
        at=now,
        staff_id=staff_id,
        data={"via": via} if via != "sms" else {},
    )
    session.add(contact)


def reply_overdue(
    *, session: Session, contact: Contact, team: Team, now: datetime, settings: Settings
) -> None:
    """The tick found the holder's reply overdue: page them once more, then
    hand the contact back into escalation. The client never waits more than
    two reply timeouts without the service doing something."""
    holder = session.get(Staff, contact.acknowledged_by)
    if (
        contact.reply_reminders < 1
        and holder is not None
        and unreachable_reason(session=session, staff=holder, now=now) is None
    ):
        contacts.record_event(
            session=session,
            contact=contact,
            kind=EventKind.HOLDER_REMINDED,
            at=now,
            staff_id=holder.id,
            level=contact.level,
            data={"reason": REPLY_TIMEOUT},
        )
        # Set first: a rule that fires later asks whether the client still waits.
        contact.reply_reminders = 1
        contact.next_escalation_at = now + timedelta(seconds=team.reply_timeout_seconds)
        session.add(contact)
        remind = paging.Page(contact=contact, team=team, level=contact.level, purpose=paging.REMIND)
        paging.page_person(session=session, page=remind, staff=holder, now=now, settings=settings)
        return
    to_next_level(session=session, contact=contact, team=team, now=now, settings=settings)


# ---------------------------------------------------------------- shift end


def _giving_level(contact: Contact, staff_id: int) -> dict | None:
    """The plan level that brought this person to the contact (None: they
    took it without being paged, e.g. named through the API)."""
    for level in contact.plan or ():
        if staff_id in (level.get("staff_ids") or ()):
            return level
    return None


def off_duty_reason(
    *, session: Session, contact: Contact, holder: Staff | None, team: Team, now: datetime
) -> tuple[str, bool] | None:
    """(why, at once) when the holder is no longer the right person to hold
    the contact, else None. Deactivation and SMS opt-out leave no way to
    reach them: at once. Leave and a shift's end: they are asked first."""
    if holder is None or not holder.active:
        return DEACTIVATED, True
    if holder.sms_opted_out:
        return OPTED_OUT, True
    reason = unreachable_reason(session=session, staff=holder, now=now)
    if reason == "on_leave":
        return ON_LEAVE, False
    level = _giving_level(contact, holder.id)
    if level is None:
        return None
    if level.get("kind") == "rota" and level.get("rota_id") is not None:
        on_call = {
            r.rota_id: r.staff_id for r in oncall_snapshot(session=session, team_id=team.id, at=now)
        }
        if on_call.get(level["rota_id"]) != holder.id:
            return SHIFT_ENDED, False
    elif level.get("kind") in ("assigned", "backup") and not in_working_hours(
        holder.working_hours, timezone=team.timezone, now=now
    ):
        return SHIFT_ENDED, False
    return None


def check_holders(*, session: Session, now: datetime, settings: Settings) -> int:
    """Every held contact whose holder went off duty: asked to KEEP it, and
    passed to whoever is on call when the ten minutes are up without KEEP
    (at once when they can no longer be reached at all). Returns how many moved."""
    moved = 0
    held = list(
        session.execute(
            select(col(Contact.id)).where(col(Contact.status) == ContactStatus.ACKNOWLEDGED)
        ).scalars()
    )
    for contact_id in held:
        contact = contacts.lock_contact(session=session, contact_id=contact_id)
        if contact is None or contact.status != ContactStatus.ACKNOWLEDGED:
            continue
        team = session.get_one(Team, contact.team_id)
        holder = session.get(Staff, contact.acknowledged_by)
        found = off_duty_reason(session=session, contact=contact, holder=holder, team=team, now=now)
        if found is None or (contact.holder_kept_at is not None and not found[1]):
            continue
        reason, at_once = found
        if at_once or (contact.handover_due_at is not None and contact.handover_due_at <= now):
            to_whoever_is_on_call(
                session=session,
                contact=contact,
                team=team,
                now=now,
                reason=reason,
                settings=settings,
            )
            moved += 1
        elif contact.handover_due_at is None:
            assert holder is not None  # off_duty_reason: no holder hands over at once
            _ask_to_keep(
                session=session,
                contact=contact,
                team=team,
                holder=holder,
                now=now,
                reason=reason,
                settings=settings,
            )
    return moved


def _ask_to_keep(
    *,
    session: Session,
    contact: Contact,
    team: Team,
    holder: Staff,
    now: datetime,
    reason: str,
    settings: Settings,
) -> None:
    successor = next_person(session=session, contact=contact, team=team, now=now, without=holder.id)
    contact.handover_due_at = now + KEEP_WINDOW
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.SHIFT_END_ASKED,
        at=now,
        staff_id=holder.id,
        data={
            "reason": reason,
            "passes_at": contact.handover_due_at.isoformat(),
            "to_staff_id": successor.id if successor else None,
        },
    )
    session.add(contact)
    # By their rules (a text, then a call): the question is written from the
    # event above, so a rule that fires later asks the same.
    ask = paging.Page(contact=contact, team=team, level=contact.level, purpose=paging.KEEP_ASK)
    paging.page_person(session=session, page=ask, staff=holder, now=now, settings=settings)
