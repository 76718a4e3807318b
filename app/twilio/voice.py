"""The voice crisis path: a screened dial chain over the contact's route plan.

    POST /twilio/voice                 the call: record, plan, greet, dial level 1
    POST /twilio/voice/screen          a staff leg answered: "press 1 to accept"
    POST /twilio/voice/screen-result   Digits=1 accepts (bridge); anything else hangs that leg up
    POST /twilio/voice/dial-result     a level's <Dial> ended: done if accepted, else the next level
    POST /twilio/voice/voicemail-done  the caller's message ended: the external fallback
    POST /twilio/voice/recording       a voicemail is ready: SMS a link to the on-call and supervisors
    POST /twilio/voice/status          the call's status callback: a caller gone before anyone
                                       accepted is handed to the SMS escalation engine

A leg counts as answered only when this service recorded Digits=1 from its
screen: a voicemail pickup reads DialCallStatus=completed and never presses 1.
While the call is live it drives the chain itself (no SMS notifications,
`next_escalation_at` stays None); if the caller hangs up first, the contact is
marked `needs_callback`, the first level with someone not yet dialled (or the
current level, when everyone has rung) gets a "missed call" SMS, and the tick
escalates it like any unacknowledged text.

Hang-up detection: the call's status callback (configure the crisis line
number's "call status changes" URL as PUBLIC_BASE_URL/twilio/voice/status) is
the authority, since Twilio may or may not request a <Dial> action once the
caller has gone. A dial-result or voicemail-done request whose own CallStatus
says the call has ended is treated the same way. Both paths go through one
step keyed (CallSid, "status:final"), so whichever arrives first acts and the other
changes nothing.

Every step is an event keyed (CallSid, step): Twilio's repeats change nothing
and get the same TwiML back. Decisions live in app.escalation.voice_chain.
SMS consent is never consulted for the call itself.
"""

from __future__ import annotations

from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlmodel import Session
from starlette.background import BackgroundTask
from twilio.twiml.voice_response import VoiceResponse

from app.clients.models import Client
from app.contacts import service as contacts
from app.contacts.inbound import identify_caller
from app.contacts.models import Contact, ContactEvent
from app.errors import NotFound
from app.escalation import engine
from app.escalation import voice_chain as chain
from app.messaging.outbox import enqueue
from app.ops.metrics import CONTACTS_OPENED, WEBHOOKS
from app.routing import plan_from_json
from app.routing.plan import Level
from app.teams.models import Staff, Team
from app.teams.phones import e164_or_raw
from app.twilio.router import XML, _run_db, required
from app.twilio.security import TwilioForm

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/twilio/voice", tags=["twilio"])

SCREEN_GATHER_SECONDS = 8
VOICEMAIL_MAX_SECONDS = 120
MAX_NUMBERS_PER_DIAL = 10  # Twilio rings at most ten <Number>s at once


# ---------------------------------------------------------------- helpers


def _url(settings, step: str, **query: int) -> str:
    return f"{settings.public_base_url}/twilio/voice/{step}?{urlencode(query)}"


def _contact_for_call(session: Session, call_sid: str) -> Contact | None:
    contact_id = session.execute(
        select(ContactEvent.contact_id).where(ContactEvent.idempotency_key == f"{call_sid}:call")
    ).scalar()
    return session.get(Contact, contact_id) if contact_id is not None else None


def _events(session: Session, contact_id: int, kind: str) -> list[ContactEvent]:
    return list(
        session.execute(
            select(ContactEvent)
            .where(ContactEvent.contact_id == contact_id, ContactEvent.kind == kind)
            .order_by(ContactEvent.id)
        ).scalars()
    )


def _accepted(session: Session, contact_id: int) -> bool:
    """The service's own record of a leg pressing 1: never DialCallStatus."""
    return bool(_events(session, contact_id, "call_accepted"))


def _event(contact: Contact, kind: str, key: str, now, **fields) -> ContactEvent:
    return ContactEvent(
        contact_id=contact.id,
        at=now,
        kind=kind,
        idempotency_key=key,
        staff_id=fields.get("staff_id"),
        level=fields.get("level"),
        data=fields.get("data") or {},
    )


def _record(session: Session, contact: Contact, kind: str, key: str, now, **fields) -> bool:
    """Insert one keyed step; False (nothing changes) when it was seen before."""
    if not contacts.insert_idempotent(
        session=session, event=_event(contact, kind, key, now, **fields)
    ):
        return False
    contact.updated_at = now
    session.add(contact)
    return True


def _who(session: Session, contact: Contact) -> str:
    client = session.get(Client, contact.client_id) if contact.client_id else None
    return chain.screen_who(
        preferred_name=client.preferred_name if client else None,
        relation=contact.caller_relation,
        ambiguous=bool(contact.candidate_client_ids),
    )


def _xml(twiml: str | None, runtime) -> Response:
    return Response(twiml, media_type=XML, background=BackgroundTask(runtime.dispatcher.dispatch))


def _hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


# ---------------------------------------------------------------- the chain


def _plan(session: Session, contact: Contact, team: Team, now) -> tuple[Level, ...]:
    return engine.plan_contact(
        session=session, contact=contact, team=team, now=now, channel="voice"
    )


def _render(
    session: Session,
    *,
    settings,
    team: Team,
    contact: Contact,
    step: chain.DialStep,
    intro: str | None,
    after_fallback_status: str | None = None,
) -> str:
    """The TwiML for one step. Deterministic in its inputs, so a repeated
    callback gets the same answer."""
    response = VoiceResponse()
    if step.kind == chain.STAFF:
        if intro:
            response.say(intro)
        # The crisis line as caller id, so staff phones show the line they know.
        dial = response.dial(
            answer_on_bridge=True,
            timeout=team.dial_timeout_seconds,
            method="POST",
            caller_id=team.crisis_line_number,
            action=_url(settings, "dial-result", contact=contact.id, level=step.level),
        )
        for staff_id in step.staff_ids[:MAX_NUMBERS_PER_DIAL]:
            staff = session.get(Staff, staff_id)
            dial.number(
                staff.phone,
                method="POST",
                url=_url(settings, "screen", contact=contact.id, level=step.level, staff=staff_id),
            )
    elif step.kind == chain.VOICEMAIL:
        response.say(chain.VOICEMAIL_PROMPT)
        response.record(
            action=_url(settings, "voicemail-done", contact=contact.id),
            method="POST",
            max_length=VOICEMAIL_MAX_SECONDS,
            play_beep=True,
            finish_on_key="#",
            recording_status_callback=_url(settings, "recording", contact=contact.id),
            recording_status_callback_method="POST",
        )
    elif step.kind == chain.FALLBACK:
        if intro and intro != chain.STILL_TRYING:
            response.say(intro)
        response.say(chain.CONNECTING_FALLBACK)
        # Unscreened, and with the caller's own number so the crisis team can call back.
        dial = response.dial(
            answer_on_bridge=True,
            method="POST",
            action=_url(settings, "dial-result", contact=contact.id, level=step.level),
        )
        dial.number(step.number)
    else:
        if after_fallback_status is not None and after_fallback_status != "completed":
            response.say(chain.FALLBACK_FAILED)
        response.hangup()
    return str(response)


def _take_step(
    session: Session,
    *,
    settings,
    team: Team,
    contact: Contact,
    step: chain.DialStep,
    call_sid: str,
    now,
) -> None:
    """Write what dialling this step means, once per (CallSid, step)."""
    if step.kind == chain.STAFF:
        level = plan_from_json(contact.plan)[step.level - 1]
        for staff_id in step.staff_ids[:MAX_NUMBERS_PER_DIAL]:
            _record(
                session,
                contact,
                "dialled",
                f"{call_sid}:dial:{step.level}:{staff_id}",
                now,
                staff_id=staff_id,
                level=step.level,
                data={"label": level.label},
            )
        contact.level = step.level
        session.add(contact)
    elif step.kind == chain.VOICEMAIL:
        _record(
            session, contact, "voicemail_offered", f"{call_sid}:voicemail", now, level=step.level
        )
    elif step.kind == chain.FALLBACK:
        if not _record(
            session,
            contact,
            "dialled",
            f"{call_sid}:dial:{step.level}:fallback",
            now,
            level=step.level,
            data={"fallback": True, "label": "external fallback"},
        ):
            return
        contact.level = step.level
        if contact.status == "open":
            level = plan_from_json(contact.plan)[step.level - 1]
            engine.finish_unanswered(
                session=session, contact=contact, team=team, level=level, now=now
            )


def _first_step(team: Team, contact: Contact) -> chain.DialStep:
    return chain.first_dial(plan_from_json(contact.plan), voicemail_enabled=team.voicemail_enabled)


def _dialled_staff(session: Session, contact_id: int) -> set[int]:
    """Everyone whose phone this call has rung."""
    return {e.staff_id for e in _events(session, contact_id, "dialled") if e.staff_id is not None}


def _caller_gone(
    session: Session, *, settings, team: Team, contact: Contact, call_sid: str, now
) -> bool:
    """The caller hung up before anyone accepted: mark the contact for a
    callback and hand it to the SMS engine at the first level with someone
    not yet dialled (or the current level when everyone was); the tick
    escalates it from there until someone acknowledges. One step per call,
    keyed (CallSid, status:final), whichever callback reports it first."""
    levels = plan_from_json(contact.plan)
    handoff = (
        chain.sms_handoff_level(levels, _dialled_staff(session, contact.id), contact.level)
        if levels
        else None
    )
    if not _record(
        session,
        contact,
        "caller_hung_up",
        f"{call_sid}:status:final",
        now,
        level=contact.level,
        data={"sms_level": handoff if contact.status == "open" else None},
    ):
        return False
    if contact.status not in ("open", "unanswered"):
        return True
    contact.needs_callback = True
    session.add(contact)
    if contact.status == "open" and handoff is not None:
        engine.notify_level(
            session=session, contact=contact, team=team, number=handoff, now=now, settings=settings
        )
    log.info("voice_caller_hung_up", contact_id=contact.id, sms_level=handoff)
    return True


# ---------------------------------------------------------------- POST /twilio/voice


def _process_call(runtime, to_number: str, from_raw: str, call_sid: str) -> tuple[str, str | None]:
    settings = runtime.settings
    with runtime.db.session() as session:
        team = (
            session.execute(select(Team).where(Team.crisis_line_number == to_number))
            .scalars()
            .first()
        )
        if team is None:
            return "unknown_line", None
        existing = _contact_for_call(session, call_sid)
        if existing is not None:
            return "duplicate", _render(
                session,
                settings=settings,
                team=team,
                contact=existing,
                step=_first_step(team, existing),
                intro=team.voice_greeting,
            )
        now = runtime.now()
        from_number = e164_or_raw(from_raw, team.region)
        caller = identify_caller(session=session, team_id=team.id, number=from_number)
        contact = Contact(
            team_id=team.id,
            channel="voice",
            from_number=from_number[:20],
            client_id=caller.client_id,
            candidate_client_ids=list(caller.candidate_client_ids),
            caller_relation=caller.relation,
            created_at=now,
            updated_at=now,
        )
        session.add(contact)
        session.flush()
        received = _event(
            contact, "call_received", f"{call_sid}:call", now, data={"channel": "voice"}
        )
        if not contacts.insert_idempotent(session=session, event=received):
            # A concurrent delivery of the same CallSid won the race.
            session.delete(contact)
            session.flush()
            existing = _contact_for_call(session, call_sid)
            return "duplicate", _render(
                session,
                settings=settings,
                team=team,
                contact=existing,
                step=_first_step(team, existing),
                intro=team.voice_greeting,
            )
        if caller.candidate_client_ids:
            contacts.record_event(
                session=session,
                contact=contact,
                kind="ambiguous_caller",
                at=now,
                data={"candidate_client_ids": list(caller.candidate_client_ids)},
            )
        _plan(session, contact, team, now)
        step = _first_step(team, contact)
        twiml = _render(
            session,
            settings=settings,
            team=team,
            contact=contact,
            step=step,
            intro=team.voice_greeting,
        )
        _take_step(
            session,
            settings=settings,
            team=team,
            contact=contact,
            step=step,
            call_sid=call_sid,
            now=now,
        )
        CONTACTS_OPENED.labels("voice").inc()
        log.info(
            "contact_opened",
            contact_id=contact.id,
            team_id=team.id,
            channel="voice",
            known_client=caller.client_id is not None,
        )
        return "opened", twiml


@router.post("", response_class=Response)
async def inbound_call(request: Request, form: TwilioForm) -> Response:
    """A call to a crisis line: greeting, then the first level's phones, each screened."""
    runtime = request.app.state.runtime
    to_number = e164_or_raw(required(form, "To"))
    outcome, twiml = await _run_db(
        _process_call, runtime, to_number, required(form, "From"), required(form, "CallSid")
    )
    WEBHOOKS.labels("voice", outcome).inc()
    if outcome == "unknown_line":
        log.warning("call_to_unknown_line")
        raise NotFound("no team uses this crisis line number")
    return _xml(twiml, runtime)


# ---------------------------------------------------------------- screening


def _process_screen(
    runtime, contact_id: int, level: int, staff_id: int, leg_sid: str
) -> tuple[str, str | None]:
    settings = runtime.settings
    with runtime.db.session() as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            return "unknown_contact", None
        now = runtime.now()
        fresh = _record(
            session, contact, "screened", f"{leg_sid}:screen", now, staff_id=staff_id, level=level
        )
        response = VoiceResponse()
        gather = response.gather(
            num_digits=1,
            timeout=SCREEN_GATHER_SECONDS,
            method="POST",
            action_on_empty_result=True,
            action=_url(settings, "screen-result", contact=contact_id, level=level, staff=staff_id),
        )
        gather.say(chain.screen_prompt(who=_who(session, contact)), loop=2)
        # Reached only if Twilio did not post the empty result: a voicemail never presses 1.
        response.say(chain.SCREEN_NOT_ACCEPTED)
        response.hangup()
        return "screened" if fresh else "duplicate", str(response)


@router.post("/screen", response_class=Response)
async def screen(
    request: Request,
    form: TwilioForm,
    contact: int = Query(),
    level: int = Query(),
    staff: int = Query(),
) -> Response:
    """A staff leg picked up: who is calling (never clinical detail), press 1 to accept."""
    runtime = request.app.state.runtime
    outcome, twiml = await _run_db(
        _process_screen, runtime, contact, level, staff, required(form, "CallSid")
    )
    WEBHOOKS.labels("voice_screen", outcome).inc()
    if twiml is None:
        raise NotFound("unknown contact")
    return _xml(twiml, runtime)


def _process_screen_result(
    runtime, contact_id: int, level: int, staff_id: int, leg_sid: str, digits: str
) -> tuple[str, str | None]:
    with runtime.db.session() as session:
        contact = engine.lock_contact(session=session, contact_id=contact_id)
        if contact is None:
            return "unknown_contact", None
        now = runtime.now()
        if digits == "1":
            if _record(
                session,
                contact,
                "call_accepted",
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
            return "accepted", str(VoiceResponse())  # empty: the legs are bridged
        # Anything but 1 is a decline; nothing pressed is most likely a voicemail greeting.
        _record(
            session,
            contact,
            "call_declined",
            f"{leg_sid}:declined",
            now,
            staff_id=staff_id,
            level=level,
            data={"digits": digits} if digits else {"digits": None, "likely": "voicemail"},
        )
        outcome = "declined" if digits else "no_input"
        response = VoiceResponse()
        response.say(chain.SCREEN_NOT_ACCEPTED)
        response.hangup()
        return outcome, str(response)


@router.post("/screen-result", response_class=Response)
async def screen_result(
    request: Request,
    form: TwilioForm,
    contact: int = Query(),
    level: int = Query(),
    staff: int = Query(),
) -> Response:
    """Digits=1: accepted, an empty response bridges the call. Anything else: this leg hangs up."""
    runtime = request.app.state.runtime
    outcome, twiml = await _run_db(
        _process_screen_result,
        runtime,
        contact,
        level,
        staff,
        required(form, "CallSid"),
        str(form.get("Digits") or "").strip(),
    )
    WEBHOOKS.labels("voice_screen_result", outcome).inc()
    if twiml is None:
        raise NotFound("unknown contact")
    return _xml(twiml, runtime)


# ---------------------------------------------------------------- the next level


def _process_dial_result(
    runtime, contact_id: int, level: int, call_sid: str, dial_status: str, call_status: str | None
) -> tuple[str, str | None]:
    settings = runtime.settings
    with runtime.db.session() as session:
        contact = engine.lock_contact(session=session, contact_id=contact_id)
        if contact is None:
            return "unknown_contact", None
        team = session.get(Team, contact.team_id)
        now = runtime.now()
        levels = plan_from_json(contact.plan)
        gone = chain.caller_gone(call_status)
        answered = any(e.level == level for e in _events(session, contact.id, "screened"))
        fresh = _record(
            session,
            contact,
            "dial_result",
            f"{call_sid}:dial-result:{level}",
            now,
            level=level,
            data={"status": dial_status, "answered": answered, "caller_gone": gone},
        )
        if _accepted(session, contact.id):
            return "done", _hangup()
        if gone:
            _caller_gone(
                session, settings=settings, team=team, contact=contact, call_sid=call_sid, now=now
            )
            return "caller_gone", _hangup()
        step = chain.next_dial(
            levels,
            chain.levels_up_to(levels, level),
            False,
            voicemail_enabled=team.voicemail_enabled,
        )
        twiml = _render(
            session,
            settings=settings,
            team=team,
            contact=contact,
            step=step,
            intro=chain.STILL_TRYING,
            after_fallback_status=dial_status,
        )
        if fresh:
            _take_step(
                session,
                settings=settings,
                team=team,
                contact=contact,
                step=step,
                call_sid=call_sid,
                now=now,
            )
        return (step.kind if fresh else "duplicate"), twiml


@router.post("/dial-result", response_class=Response)
async def dial_result(
    request: Request, form: TwilioForm, contact: int = Query(), level: int = Query()
) -> Response:
    """A level's <Dial> ended. Accepted (by the service's own record) → hang up;
    otherwise the next level, the voicemail, the fallback, or the end."""
    runtime = request.app.state.runtime
    outcome, twiml = await _run_db(
        _process_dial_result,
        runtime,
        contact,
        level,
        required(form, "CallSid"),
        str(form.get("DialCallStatus") or "").lower(),
        form.get("CallStatus"),
    )
    WEBHOOKS.labels("voice_dial_result", outcome).inc()
    if twiml is None:
        raise NotFound("unknown contact")
    return _xml(twiml, runtime)


# ---------------------------------------------------------------- voicemail


def _process_voicemail_done(
    runtime, contact_id: int, call_sid: str, call_status: str | None
) -> tuple[str, str | None]:
    settings = runtime.settings
    with runtime.db.session() as session:
        contact = engine.lock_contact(session=session, contact_id=contact_id)
        if contact is None:
            return "unknown_contact", None
        team = session.get(Team, contact.team_id)
        now = runtime.now()
        levels = plan_from_json(contact.plan)
        if _accepted(session, contact.id):
            return "done", _hangup()
        if chain.caller_gone(call_status):
            _caller_gone(
                session, settings=settings, team=team, contact=contact, call_sid=call_sid, now=now
            )
            return "caller_gone", _hangup()
        staff_levels = {lv.number for lv in levels if lv.kind != "fallback"}
        step = chain.next_dial(
            levels,
            staff_levels,
            False,
            voicemail_enabled=team.voicemail_enabled,
            voicemail_taken=True,
        )
        twiml = _render(
            session, settings=settings, team=team, contact=contact, step=step, intro=None
        )
        _take_step(
            session,
            settings=settings,
            team=team,
            contact=contact,
            step=step,
            call_sid=call_sid,
            now=now,
        )
        return step.kind, twiml


@router.post("/voicemail-done", response_class=Response)
async def voicemail_done(request: Request, form: TwilioForm, contact: int = Query()) -> Response:
    """The caller finished their message (the <Record> action): connect them to the external fallback."""
    runtime = request.app.state.runtime
    outcome, twiml = await _run_db(
        _process_voicemail_done, runtime, contact, required(form, "CallSid"), form.get("CallStatus")
    )
    WEBHOOKS.labels("voice_voicemail_done", outcome).inc()
    if twiml is None:
        raise NotFound("unknown contact")
    return _xml(twiml, runtime)


def _voicemail_recipients(session: Session, team: Team, now) -> list[Staff]:
    """Everyone on call now (each rota's, in priority order) and every active supervisor, once each."""
    from app.oncall.service import oncall_snapshot

    ids: list[int] = []
    for row in oncall_snapshot(session=session, team_id=team.id, at=now):
        if row.staff_id and row.staff_id not in ids:
            ids.append(row.staff_id)
    ids += [
        s.id
        for s in engine.team_staff(session=session, team_id=team.id)
        if s.role == "supervisor" and s.active and s.id not in ids
    ]
    staff = [session.get(Staff, staff_id) for staff_id in ids]
    return [s for s in staff if s is not None and s.active]


def _process_recording(
    runtime,
    contact_id: int,
    status: str,
    recording_sid: str,
    recording_url: str,
    duration: str | None,
) -> str:
    with runtime.db.session() as session:
        contact = engine.lock_contact(session=session, contact_id=contact_id)
        if contact is None:
            return "unknown_contact"
        now = runtime.now()
        if status != "completed":
            _record(
                session,
                contact,
                "voicemail_failed",
                f"{recording_sid}:recording:{status}",
                now,
                data={"status": status, "recording_sid": recording_sid},
            )
            return "failed"
        if not _record(
            session,
            contact,
            "voicemail",
            f"{recording_sid}:recording",
            now,
            data={"recording_sid": recording_sid, "duration": duration},
        ):
            return "duplicate"
        team = session.get(Team, contact.team_id)
        if contact.status in ("open", "unanswered"):
            contact.needs_callback = True
            session.add(contact)
        body = chain.voicemail_alert(
            contact_id=contact.id, from_number=contact.from_number, recording_url=recording_url
        )
        for staff in _voicemail_recipients(session, team, now):
            message = enqueue(
                session=session,
                team=team,
                to_number=staff.phone,
                body=body,
                purpose="alert",
                contact_id=contact.id,
                staff_id=staff.id,
                now=now,
            )
            contacts.record_event(
                session=session,
                contact=contact,
                kind="notified" if message else "notify_suppressed",
                at=now,
                staff_id=staff.id,
                data={
                    "label": "voicemail",
                    **({"message_id": message.id} if message else {"reason": "opted_out"}),
                },
            )
        log.info("voicemail_alerted", contact_id=contact.id)
        return "recorded"


@router.post("/recording", status_code=204, response_class=Response)
async def recording(request: Request, form: TwilioForm, contact: int = Query()) -> Response:
    """A voicemail is ready (recordingStatusCallback): the on-call and the
    supervisors get a link by SMS, once."""
    runtime = request.app.state.runtime
    outcome = await _run_db(
        _process_recording,
        runtime,
        contact,
        str(form.get("RecordingStatus") or "completed").lower(),
        required(form, "RecordingSid"),
        str(form.get("RecordingUrl") or ""),
        form.get("RecordingDuration"),
    )
    WEBHOOKS.labels("voice_recording", outcome).inc()
    if outcome == "unknown_contact":
        raise NotFound("unknown contact")
    return Response(status_code=204, background=BackgroundTask(runtime.dispatcher.dispatch))


# ---------------------------------------------------------------- the call's status


def _process_status(runtime, call_sid: str, call_status: str, duration: str | None) -> str:
    settings = runtime.settings
    with runtime.db.session() as session:
        found = _contact_for_call(session, call_sid)
        if found is None:
            return "unknown_call"
        if not chain.caller_gone(call_status):
            return "in_progress"
        contact = engine.lock_contact(session=session, contact_id=found.id)
        now = runtime.now()
        if _accepted(session, contact.id):
            _record(
                session,
                contact,
                "call_ended",
                f"{call_sid}:ended",
                now,
                data={"status": call_status, "duration": duration},
            )
            return "ended"
        team = session.get(Team, contact.team_id)
        if _caller_gone(
            session, settings=settings, team=team, contact=contact, call_sid=call_sid, now=now
        ):
            return "caller_gone"
        return "duplicate"


@router.post("/status", status_code=204, response_class=Response)
async def call_status(request: Request, form: TwilioForm) -> Response:
    """The call's status callback. Ended with no acceptance recorded: a missed
    crisis call, handed to the SMS escalation engine."""
    runtime = request.app.state.runtime
    outcome = await _run_db(
        _process_status,
        runtime,
        required(form, "CallSid"),
        str(form.get("CallStatus") or "").lower(),
        form.get("CallDuration"),
    )
    WEBHOOKS.labels("voice_status", outcome).inc()
    return Response(status_code=204, background=BackgroundTask(runtime.dispatcher.dispatch))
