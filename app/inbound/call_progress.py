"""A call while it rings on: a staff leg's screen ("press 1 to accept") and
its answer, a level's dial ending (the next level, the voicemail, the
fallback), and the call's own end. Each request passes the one guard,
app.inbound.call_steps.call_over, before the chain goes on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from sqlmodel import Session

from app.clients.models import Client
from app.contacts import service as contacts
from app.contacts.models import Contact, EventKind
from app.escalation import voice_chain as chain
from app.i18n import _
from app.inbound.call_answers import Answer, Bridge, Decline, Hangup, Screen
from app.inbound.call_steps import (
    call_events,
    call_over,
    contact_for_call,
    dial,
    lock_call,
    record_step,
    take_step,
)
from app.routing import plan_from_json
from app.teams.models import Staff

if TYPE_CHECKING:
    from app.runtime import Runtime

log = structlog.get_logger(__name__)


# ---------------------------------------------------------------- screening


def _who(session: Session, contact: Contact, lang: str) -> str:
    client = session.get(Client, contact.client_id) if contact.client_id else None
    return chain.screen_who(
        preferred_name=client.preferred_name if client else None,
        relation=contact.caller_relation,
        ambiguous=bool(contact.candidate_client_ids),
        lang=lang,
    )


@dataclass(frozen=True)
class StaffLeg:
    """A staff phone's leg of a call: whose call, at which level, which staff
    member, and the leg's own CallSid."""

    contact_id: int
    level: int
    staff_id: int
    leg_sid: str


def screen_leg(runtime: Runtime, leg: StaffLeg) -> tuple[str, Answer | None]:
    """A staff leg picked up: who is calling, in the staff member's language."""
    contact_id, level, staff_id, leg_sid = leg.contact_id, leg.level, leg.staff_id, leg.leg_sid
    with runtime.db.session() as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            return "unknown_contact", None
        fresh = record_step(
            session,
            contact,
            EventKind.SCREENED,
            f"{leg_sid}:screen",
            runtime.now(),
            staff_id=staff_id,
            level=level,
        )
        staff = session.get(Staff, staff_id)
        lang = staff.language if staff is not None else contact.language
        answer = Screen(
            contact_id=contact_id,
            level=level,
            staff_id=staff_id,
            who=_who(session, contact, lang),
            language=lang,
        )
        return "screened" if fresh else "duplicate", answer


def screen_result(runtime: Runtime, leg: StaffLeg, digits: str) -> tuple[str, Answer | None]:
    """The leg's digit: 1 accepts (the contact acknowledged, the call
    bridged), anything else or nothing declines."""
    contact_id, level, staff_id, leg_sid = leg.contact_id, leg.level, leg.staff_id, leg.leg_sid
    with runtime.db.session() as session:
        contact = contacts.lock_contact(session=session, contact_id=contact_id)
        if contact is None:
            return "unknown_contact", None
        now = runtime.now()
        if digits == "1":
            if record_step(
                session,
                contact,
                EventKind.CALL_ACCEPTED,
                f"{leg_sid}:accepted",
                now,
                staff_id=staff_id,
                level=level,
            ):
                contacts.acknowledge(
                    session=session, contact=contact, staff_id=staff_id, at=now, via="voice"
                )
                contacts.mark_responded(contact=contact, at=now)
                session.add(contact)
                log.info("call_accepted", contact_id=contact.id, level=level)
            return "accepted", Bridge()
        # Anything but 1 is a decline; nothing pressed is most likely a voicemail greeting.
        record_step(
            session,
            contact,
            EventKind.CALL_DECLINED,
            f"{leg_sid}:declined",
            now,
            staff_id=staff_id,
            level=level,
            data={"digits": digits} if digits else {"digits": None, "likely": "voicemail"},
        )
        staff = session.get(Staff, staff_id)
        return ("declined" if digits else "no_input"), Decline(
            language=staff.language if staff is not None else "en"
        )


# ---------------------------------------------------------------- the next level


def dial_result(
    runtime: Runtime,
    contact_id: int,
    level: int,
    call_sid: str,
    dial_status: str,
    call_status: str | None,
) -> tuple[str, Answer | None]:
    with runtime.db.session() as session:
        call = lock_call(session, runtime, contact_id, call_sid)
        if call is None:
            return "unknown_contact", None
        contact = call.contact
        levels = plan_from_json(contact.plan)
        gone = chain.caller_gone(call_status)
        answered = any(
            e.level == level for e in call_events(session, contact.id, EventKind.SCREENED)
        )
        fresh = record_step(
            session,
            contact,
            EventKind.DIAL_RESULT,
            f"{call_sid}:dial-result:{level}",
            call.now,
            level=level,
            data={"status": dial_status, "answered": answered, "caller_gone": gone},
        )
        if over := call_over(call, call_status):
            return over.outcome, Hangup()
        step = chain.next_dial(
            levels,
            chain.levels_up_to(levels, level),
            False,
            voicemail_enabled=call.team.voicemail_enabled,
        )
        answer = dial(
            call, step, _(contact.language, chain.STILL_TRYING), after_fallback_status=dial_status
        )
        if fresh:
            take_step(call, step)
        return (step.kind if fresh else "duplicate"), answer


# ---------------------------------------------------------------- the call's status


def call_status(runtime: Runtime, call_sid: str, status: str, duration: str | None) -> str:
    """The call ended with no acceptance recorded: a missed crisis call,
    handed to the SMS escalation engine."""
    with runtime.db.session() as session:
        found = contact_for_call(session, call_sid)
        if found is None:
            return "unknown_call"
        if not chain.caller_gone(status):
            return "in_progress"
        call = lock_call(session, runtime, found.id, call_sid)
        assert call is not None  # contact_for_call just read it
        over = call_over(call, status)
        assert over is not None  # the status says the call has ended
        if over.outcome == "done":
            record_step(
                session,
                call.contact,
                EventKind.CALL_ENDED,
                f"{call_sid}:ended",
                call.now,
                data={"status": status, "duration": duration},
            )
            return "ended"
        return "caller_gone" if over.handed_off else "duplicate"
