"""A caller's voicemail: when their message ends the call goes on to the
external fallback; when Twilio has the recording, the people on call now and
the supervisors get its link by SMS, once."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import structlog
from sqlmodel import Session

from app.contacts import service as contacts
from app.contacts.models import ContactStatus, EventKind
from app.escalation import voice_chain as chain
from app.inbound.call_answers import Answer, Dial
from app.inbound.call_steps import LiveCall, dial_and_take, record_step, unless_call_over
from app.messaging.models import MessagePurpose
from app.messaging.outbox import enqueue
from app.oncall.service import oncall_snapshot
from app.routing import plan_from_json
from app.teams.models import Staff, Team
from app.teams.service import active_supervisors

if TYPE_CHECKING:
    from app.runtime import Runtime

log = structlog.get_logger(__name__)


def voicemail_done(
    runtime: Runtime, contact_id: int, call_sid: str, call_status: str | None
) -> tuple[str, Answer | None]:
    """The caller's message ended (the <Record> action): the next step after
    the voicemail, the external fallback or the end."""
    return unless_call_over(runtime, contact_id, call_sid, call_status, _after_voicemail)


def _after_voicemail(call: LiveCall) -> tuple[str, Dial]:
    levels = plan_from_json(call.contact.plan)
    staff_levels = {lv.number for lv in levels if lv.kind != "fallback"}
    step = chain.next_dial(
        levels,
        staff_levels,
        False,
        voicemail_enabled=call.team.voicemail_enabled,
        voicemail_taken=True,
    )
    return step.kind, dial_and_take(call, step, None)


def _voicemail_recipients(session: Session, team: Team, now: datetime) -> list[Staff]:
    """Everyone on call now (each rota's, in priority order) and every active supervisor, once each."""
    ids: list[int] = []
    for row in oncall_snapshot(session=session, team_id=team.id, at=now):
        if row.staff_id and row.staff_id not in ids:
            ids.append(row.staff_id)
    ids += [s.id for s in active_supervisors(session=session, team_id=team.id) if s.id not in ids]
    staff = [session.get(Staff, staff_id) for staff_id in ids]
    return [s for s in staff if s is not None and s.active]


def voicemail_recorded(
    runtime: Runtime,
    contact_id: int,
    status: str,
    recording_sid: str,
    recording_url: str,
    duration: str | None,
) -> str:
    """A voicemail is ready: the on-call and the supervisors get a link by SMS, once."""
    with runtime.db.session() as session:
        contact = contacts.lock_contact(session=session, contact_id=contact_id)
        if contact is None:
            return "unknown_contact"
        now = runtime.now()
        failed = status != "completed"
        fresh = record_step(
            session,
            contact,
            EventKind.VOICEMAIL_FAILED if failed else EventKind.VOICEMAIL,
            f"{recording_sid}:recording" + (f":{status}" if failed else ""),
            now,
            data={"status": status, "recording_sid": recording_sid}
            if failed
            else {"recording_sid": recording_sid, "duration": duration},
        )
        if failed:
            return "failed"
        if not fresh:
            return "duplicate"
        team = session.get_one(Team, contact.team_id)
        if contact.status in (ContactStatus.OPEN, ContactStatus.UNANSWERED):
            contact.needs_callback = True
            session.add(contact)
        for staff in _voicemail_recipients(session, team, now):
            message = enqueue(
                session=session,
                team=team,
                to_number=staff.phone,
                body=chain.voicemail_alert(
                    contact_id=contact.id,
                    from_number=contact.from_number,
                    recording_url=recording_url,
                    lang=staff.language,
                ),
                purpose=MessagePurpose.ALERT,
                contact_id=contact.id,
                staff_id=staff.id,
                now=now,
            )
            contacts.record_event(
                session=session,
                contact=contact,
                kind=EventKind.NOTIFIED if message else EventKind.NOTIFY_SUPPRESSED,
                at=now,
                staff_id=staff.id,
                data={
                    "label": "voicemail",
                    **({"message_id": message.id} if message else {"reason": "opted_out"}),
                },
            )
        log.info("voicemail_alerted", contact_id=contact.id)
        return "recorded"
