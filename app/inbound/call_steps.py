"""The steps of a call to a crisis line, and the guard every step passes.

The voice use case is a screened dial chain over the contact's route plan:
`call_opening` opens the contact and dials level 1, `call_progress` follows
the staff legs and each level's dial, `voicemail` takes and sends a message.
A leg counts as answered only when this service recorded Digits=1 from its
screen: a voicemail pickup reads DialCallStatus=completed and never presses 1.
While the call is live it drives the chain itself (no SMS notifications,
`next_escalation_at` stays None); if the caller hangs up first, the contact is
marked `needs_callback`, the first level with someone not yet dialled (or the
current level, when everyone has rung) gets a "missed call" SMS, and the tick
escalates it like any unacknowledged text.

Hang-up detection: the call's status callback is the authority, since Twilio
may or may not request a <Dial> action once the caller has gone. A
dial-result, language or voicemail-done request whose own CallStatus says the
call has ended is treated the same way. Every path asks one guard,
`call_over`, and the hand-off is one step keyed (CallSid, "status:final"), so
whichever arrives first acts and the others change nothing.

Every step is an event keyed (CallSid, step): Twilio's repeats change nothing
and get the same answer back. Each entry point returns an outcome (for the
metrics) and what is heard next (`app.inbound.call_answers`). Decisions live
in app.escalation.voice_chain. SMS consent is never consulted for the call
itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select
from sqlmodel import Session, col

from app.contacts import service as contacts
from app.contacts.models import Contact, ContactEvent, ContactStatus, EventKind
from app.escalation import engine
from app.escalation import voice_chain as chain
from app.inbound.call_answers import Answer, Dial, Hangup
from app.routing import plan_from_json
from app.settings import Settings
from app.teams.models import Staff, Team

if TYPE_CHECKING:
    from app.runtime import Runtime

log = structlog.get_logger(__name__)

MAX_NUMBERS_PER_DIAL = 10  # Twilio rings at most ten <Number>s at once


# ---------------------------------------------------------------- the call's record


def contact_for_call(session: Session, call_sid: str) -> Contact | None:
    """The contact this CallSid opened, if any."""
    contact_id = session.execute(
        select(col(ContactEvent.contact_id)).where(
            col(ContactEvent.idempotency_key) == f"{call_sid}:call"
        )
    ).scalar()
    return session.get(Contact, contact_id) if contact_id is not None else None


def call_events(session: Session, contact_id: int, kind: str) -> list[ContactEvent]:
    """The contact's events of one kind, oldest first."""
    return list(
        session.execute(
            select(ContactEvent)
            .where(col(ContactEvent.contact_id) == contact_id, col(ContactEvent.kind) == kind)
            .order_by(col(ContactEvent.id))
        ).scalars()
    )


def accepted(session: Session, contact_id: int) -> bool:
    """The service's own record of a leg pressing 1: never DialCallStatus."""
    return bool(call_events(session, contact_id, EventKind.CALL_ACCEPTED))


def step_event(
    contact: Contact | None, kind: str, key: str, now: datetime, **fields: Any
) -> ContactEvent:
    """One keyed step of a call, not yet stored."""
    return ContactEvent(
        # Without a contact yet, open_contact sets the id once the contact is stored.
        contact_id=contact.id if contact else None,  # type: ignore[arg-type]
        at=now,
        kind=kind,
        idempotency_key=key,
        staff_id=fields.get("staff_id"),
        level=fields.get("level"),
        data=fields.get("data") or {},
    )


def record_step(
    session: Session, contact: Contact, kind: str, key: str, now: datetime, **fields: Any
) -> bool:
    """Insert one keyed step; False (nothing changes) when it was seen before."""
    if not contacts.insert_idempotent(
        session=session, event=step_event(contact, kind, key, now, **fields)
    ):
        return False
    contact.updated_at = now
    session.add(contact)
    return True


@dataclass(frozen=True)
class LiveCall:
    """A call's contact, locked for this request, with what its steps read."""

    session: Session
    settings: Settings
    team: Team
    contact: Contact
    call_sid: str
    now: datetime


def lock_call(
    session: Session, runtime: Runtime, contact_id: int, call_sid: str
) -> LiveCall | None:
    """The call's contact locked for change (serialised with the tick), or
    None when there is no such contact."""
    contact = contacts.lock_contact(session=session, contact_id=contact_id)
    if contact is None:
        return None
    team = session.get_one(Team, contact.team_id)
    return LiveCall(session, runtime.settings, team, contact, call_sid, runtime.now())


# ---------------------------------------------------------------- the chain


def dial(
    call: LiveCall,
    step: chain.DialStep,
    intro: str | None,
    after_fallback_status: str | None = None,
) -> Dial:
    """What dialling `step` sounds like. Deterministic in its inputs, so a
    repeated callback gets the same answer."""
    phones: tuple[tuple[int, str], ...] = ()
    if step.kind == chain.STAFF:
        phones = tuple(
            (staff_id, call.session.get_one(Staff, staff_id).phone)
            for staff_id in step.staff_ids[:MAX_NUMBERS_PER_DIAL]
        )
    return Dial(
        contact_id=call.contact.id,
        step=step,
        phones=phones,
        timeout_seconds=call.team.dial_timeout_seconds,
        caller_id=call.team.crisis_line_number,
        intro=intro,
        language=call.contact.language,
        after_fallback_status=after_fallback_status,
    )


def take_step(call: LiveCall, step: chain.DialStep) -> None:
    """Write what dialling this step means, once per (CallSid, step)."""
    session, contact, call_sid, now = call.session, call.contact, call.call_sid, call.now
    if step.kind == chain.STAFF:
        assert step.level is not None  # a staff step names its level
        level = plan_from_json(contact.plan)[step.level - 1]
        for staff_id in step.staff_ids[:MAX_NUMBERS_PER_DIAL]:
            record_step(
                session,
                contact,
                EventKind.DIALLED,
                f"{call_sid}:dial:{step.level}:{staff_id}",
                now,
                staff_id=staff_id,
                level=step.level,
                data={"label": level.label},
            )
        contact.level = step.level
        session.add(contact)
    elif step.kind == chain.VOICEMAIL:
        record_step(
            session,
            contact,
            EventKind.VOICEMAIL_OFFERED,
            f"{call_sid}:voicemail",
            now,
            level=step.level,
        )
    elif step.kind == chain.FALLBACK:
        assert step.level is not None  # a fallback step names its level
        if not record_step(
            session,
            contact,
            EventKind.DIALLED,
            f"{call_sid}:dial:{step.level}:fallback",
            now,
            level=step.level,
            data={"fallback": True, "label": "external fallback"},
        ):
            return
        contact.level = step.level
        if contact.status == ContactStatus.OPEN:
            level = plan_from_json(contact.plan)[step.level - 1]
            engine.finish_unanswered(
                session=session,
                contact=contact,
                team=call.team,
                level=level,
                now=now,
                settings=call.settings,
            )


def dial_and_take(
    call: LiveCall,
    step: chain.DialStep,
    intro: str | None,
    after_fallback_status: str | None = None,
) -> Dial:
    """What dialling `step` sounds like, with the step written."""
    answer = dial(call, step, intro, after_fallback_status)
    take_step(call, step)
    return answer


# ---------------------------------------------------------------- the guard


def _dialled_staff(session: Session, contact_id: int) -> set[int]:
    """Everyone whose phone this call has rung."""
    return {
        e.staff_id
        for e in call_events(session, contact_id, EventKind.DIALLED)
        if e.staff_id is not None
    }


def _hand_missed_call_to_sms(call: LiveCall) -> bool:
    """The caller hung up before anyone accepted: mark the contact for a
    callback and hand it to the SMS engine at the level whose phones were
    ringing (they just saw a missed call with no context; the text gives
    it); the tick escalates it from there until someone acknowledges. One
    step per call, keyed (CallSid, status:final), whichever callback reports
    it first: False when an earlier one did."""
    session, contact = call.session, call.contact
    levels = plan_from_json(contact.plan)
    handoff = (
        chain.sms_handoff_level(levels, _dialled_staff(session, contact.id), contact.level)
        if levels
        else None
    )
    if not record_step(
        session,
        contact,
        EventKind.CALLER_HUNG_UP,
        f"{call.call_sid}:status:final",
        call.now,
        level=contact.level,
        data={"sms_level": handoff if contact.status == ContactStatus.OPEN else None},
    ):
        return False
    if contact.status not in (ContactStatus.OPEN, ContactStatus.UNANSWERED):
        return True
    contact.needs_callback = True
    session.add(contact)
    if contact.status == ContactStatus.OPEN and handoff is not None:
        engine.notify_level(
            session=session,
            contact=contact,
            team=call.team,
            number=handoff,
            now=call.now,
            settings=call.settings,
        )
    log.info("voice_caller_hung_up", contact_id=contact.id, sms_level=handoff)
    return True


@dataclass(frozen=True)
class CallOver:
    """Why the chain stops: `outcome` is "done" (someone accepted) or
    "caller_gone"; `handed_off` says this request made the hand-off to the
    SMS engine (False: an earlier one did, or nobody needed it)."""

    outcome: str
    handed_off: bool = False


def call_over(call: LiveCall, call_status: str | None) -> CallOver | None:
    """The guard before the chain goes on, for every path: someone already
    accepted, or the caller has gone (handed to the SMS engine, once).
    None: the chain goes on."""
    if accepted(call.session, call.contact.id):
        return CallOver("done")
    if chain.caller_gone(call_status):
        return CallOver("caller_gone", handed_off=_hand_missed_call_to_sms(call))
    return None


def unless_call_over(
    runtime: Runtime,
    contact_id: int,
    call_sid: str,
    call_status: str | None,
    go_on: Callable[[LiveCall], tuple[str, Answer]],
) -> tuple[str, Answer | None]:
    """The call's contact locked, then the guard: `go_on` only while the
    chain goes on, else the caller is hung up."""
    with runtime.db.session() as session:
        call = lock_call(session, runtime, contact_id, call_sid)
        if call is None:
            return "unknown_contact", None
        if over := call_over(call, call_status):
            return over.outcome, Hangup()
        return go_on(call)
