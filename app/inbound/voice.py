"""The voice use case: a screened dial chain over the contact's route plan.

A leg counts as answered only when this service recorded Digits=1 from its
screen: a voicemail pickup reads DialCallStatus=completed and never presses 1.
While the call is live it drives the chain itself (no SMS notifications,
`next_escalation_at` stays None); if the caller hangs up first, the contact is
marked `needs_callback`, the first level with someone not yet dialled (or the
current level, when everyone has rung) gets a "missed call" SMS, and the tick
escalates it like any unacknowledged text.

Hang-up detection: the call's status callback is the authority, since Twilio
may or may not request a <Dial> action once the caller has gone. A
dial-result or voicemail-done request whose own CallStatus says the call has
ended is treated the same way. Both paths go through one step keyed
(CallSid, "status:final"), so whichever arrives first acts and the other
changes nothing.

Every step is an event keyed (CallSid, step): Twilio's repeats change nothing
and get the same answer back. Each function here returns an outcome (for the
metrics) and what the caller or the staff leg hears next (`Dial`, `Screen`,
`Bridge`, `Decline`, `Hangup`), which app.twilio.voice renders as TwiML.
Decisions live in app.escalation.voice_chain. SMS consent is never consulted
for the call itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select
from sqlmodel import Session, col

from app.clients.models import Client
from app.contacts import service as contacts
from app.contacts.models import Channel, Contact, ContactEvent, ContactStatus, EventKind
from app.escalation import engine
from app.escalation import voice_chain as chain
from app.i18n import _
from app.inbound import language
from app.inbound.opening import identify_caller, new_contact, open_contact
from app.messaging import texts
from app.messaging.models import MessagePurpose
from app.messaging.outbox import enqueue
from app.oncall.service import oncall_snapshot
from app.ops.metrics import CONTACTS_OPENED
from app.routing import plan_from_json
from app.settings import Settings
from app.teams.models import Staff, Team
from app.teams.phones import e164_or_raw
from app.teams.service import active_supervisors

if TYPE_CHECKING:
    from app.runtime import Runtime

log = structlog.get_logger(__name__)

MAX_NUMBERS_PER_DIAL = 10  # Twilio rings at most ten <Number>s at once


# ---------------------------------------------------------------- what is heard next


@dataclass(frozen=True)
class Dial:
    """One step of the chain for the caller: staff phones, the voicemail,
    the external fallback, or the end."""

    contact_id: int
    step: chain.DialStep
    phones: tuple[tuple[int, str], ...]  # (staff id, phone) rung at once, at most ten
    timeout_seconds: int
    caller_id: str  # the crisis line, so staff phones show the line they know
    intro: str | None
    language: str  # what the caller hears every prompt in
    after_fallback_status: str | None = None


@dataclass(frozen=True)
class Screen:
    """A staff leg picked up: who is calling (never clinical detail), press 1."""

    contact_id: int
    level: int
    staff_id: int
    who: str
    language: str  # the staff member's own


@dataclass(frozen=True)
class Bridge:
    """The leg accepted: the caller and the staff member are connected."""


@dataclass(frozen=True)
class Decline:
    """The leg did not accept: it is told so and hung up."""

    language: str = "en"  # the staff member's


@dataclass(frozen=True)
class LanguageMenu:
    """An unknown caller on a team offering several languages: each other
    language offered in itself ("Para español, oprima 2"), one digit, a
    short wait, then the team's default."""

    contact_id: int
    choices: tuple[tuple[str, str], ...]  # (language, digit), in the team's order
    timeout_seconds: int


@dataclass(frozen=True)
class Hangup:
    """Nothing more for the caller."""


Answer = Dial | Screen | Bridge | Decline | Hangup | LanguageMenu

# How long the language menu waits for a digit after its prompt: short, since
# the dial waits for it.
LANGUAGE_MENU_SECONDS = 2


# ---------------------------------------------------------------- helpers


def _contact_for_call(session: Session, call_sid: str) -> Contact | None:
    contact_id = session.execute(
        select(col(ContactEvent.contact_id)).where(
            col(ContactEvent.idempotency_key) == f"{call_sid}:call"
        )
    ).scalar()
    return session.get(Contact, contact_id) if contact_id is not None else None


def _events(session: Session, contact_id: int, kind: str) -> list[ContactEvent]:
    return list(
        session.execute(
            select(ContactEvent)
            .where(col(ContactEvent.contact_id) == contact_id, col(ContactEvent.kind) == kind)
            .order_by(col(ContactEvent.id))
        ).scalars()
    )


def _accepted(session: Session, contact_id: int) -> bool:
    """The service's own record of a leg pressing 1: never DialCallStatus."""
    return bool(_events(session, contact_id, EventKind.CALL_ACCEPTED))


def _event(
    contact: Contact | None, kind: str, key: str, now: datetime, **fields: Any
) -> ContactEvent:
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


def _record(
    session: Session, contact: Contact, kind: str, key: str, now: datetime, **fields: Any
) -> bool:
    """Insert one keyed step; False (nothing changes) when it was seen before."""
    if not contacts.insert_idempotent(
        session=session, event=_event(contact, kind, key, now, **fields)
    ):
        return False
    contact.updated_at = now
    session.add(contact)
    return True


def _who(session: Session, contact: Contact, lang: str) -> str:
    client = session.get(Client, contact.client_id) if contact.client_id else None
    return chain.screen_who(
        preferred_name=client.preferred_name if client else None,
        relation=contact.caller_relation,
        ambiguous=bool(contact.candidate_client_ids),
        lang=lang,
    )


# ---------------------------------------------------------------- the chain


def _dial(
    session: Session,
    *,
    team: Team,
    contact: Contact,
    step: chain.DialStep,
    intro: str | None,
    after_fallback_status: str | None = None,
) -> Dial:
    """What dialling `step` sounds like. Deterministic in its inputs, so a
    repeated callback gets the same answer."""
    phones: tuple[tuple[int, str], ...] = ()
    if step.kind == chain.STAFF:
        phones = tuple(
            (staff_id, session.get_one(Staff, staff_id).phone)
            for staff_id in step.staff_ids[:MAX_NUMBERS_PER_DIAL]
        )
    return Dial(
        contact_id=contact.id,
        step=step,
        phones=phones,
        timeout_seconds=team.dial_timeout_seconds,
        caller_id=team.crisis_line_number,
        intro=intro,
        language=contact.language,
        after_fallback_status=after_fallback_status,
    )


def _take_step(
    session: Session,
    *,
    team: Team,
    contact: Contact,
    step: chain.DialStep,
    call_sid: str,
    now: datetime,
    settings: Settings,
) -> None:
    """Write what dialling this step means, once per (CallSid, step)."""
    if step.kind == chain.STAFF:
        assert step.level is not None  # a staff step names its level
        level = plan_from_json(contact.plan)[step.level - 1]
        for staff_id in step.staff_ids[:MAX_NUMBERS_PER_DIAL]:
            _record(
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
        _record(
            session,
            contact,
            EventKind.VOICEMAIL_OFFERED,
            f"{call_sid}:voicemail",
            now,
            level=step.level,
        )
    elif step.kind == chain.FALLBACK:
        assert step.level is not None  # a fallback step names its level
        if not _record(
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
                session=session, contact=contact, team=team, level=level, now=now, settings=settings
            )


def _first_step(team: Team, contact: Contact) -> chain.DialStep:
    return chain.first_dial(plan_from_json(contact.plan), voicemail_enabled=team.voicemail_enabled)


def _dialled_staff(session: Session, contact_id: int) -> set[int]:
    """Everyone whose phone this call has rung."""
    return {
        e.staff_id
        for e in _events(session, contact_id, EventKind.DIALLED)
        if e.staff_id is not None
    }


def _caller_gone(
    session: Session,
    *,
    settings: Settings,
    team: Team,
    contact: Contact,
    call_sid: str,
    now: datetime,
) -> bool:
    """The caller hung up before anyone accepted: mark the contact for a
    callback and hand it to the SMS engine at the level whose phones were
    ringing (they just saw a missed call with no context; the text gives
    it); the tick escalates it from there until someone acknowledges. One step per call,
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
        EventKind.CALLER_HUNG_UP,
        f"{call_sid}:status:final",
        now,
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
            session=session, contact=contact, team=team, number=handoff, now=now, settings=settings
        )
    log.info("voice_caller_hung_up", contact_id=contact.id, sms_level=handoff)
    return True


def _call_over(
    session: Session,
    *,
    settings: Settings,
    team: Team,
    contact: Contact,
    call_sid: str,
    call_status: str | None,
    now: datetime,
) -> str | None:
    """The guard before dialling on: someone already accepted ("done"), or
    the caller has gone ("caller_gone", handed to the SMS engine once).
    None: the chain goes on."""
    if _accepted(session, contact.id):
        return "done"
    if chain.caller_gone(call_status):
        _caller_gone(
            session, settings=settings, team=team, contact=contact, call_sid=call_sid, now=now
        )
        return "caller_gone"
    return None


# ---------------------------------------------------------------- the call


def answer_call(
    runtime: Runtime, to_number: str, from_raw: str, call_sid: str
) -> tuple[str, Answer | None]:
    """A call to a crisis line: the contact opened (once per CallSid), then
    the greeting and the first level's phones, or first the language menu
    for an unknown caller on a team offering several languages. None: no
    team has this line."""
    with runtime.db.session() as session:
        team = (
            session.execute(select(Team).where(col(Team.crisis_line_number) == to_number))
            .scalars()
            .first()
        )
        if team is None:
            return "unknown_line", None
        existing = _contact_for_call(session, call_sid)
        if existing is None:
            now = runtime.now()
            from_number = e164_or_raw(from_raw, team.region)
            caller = identify_caller(session=session, team_id=team.id, number=from_number)
            known = language.known_language(
                session=session, team_id=team.id, number=from_number, client_id=caller.client_id
            )
            contact = new_contact(
                team=team,
                channel=Channel.VOICE,
                from_number=from_number[:20],
                caller=caller,
                now=now,
                language=known or team.default_language,
            )
            received = _event(
                None,
                EventKind.CALL_RECEIVED,
                f"{call_sid}:call",
                now,
                data={"channel": Channel.VOICE},
            )
            if open_contact(
                session=session,
                contact=contact,
                caller=caller,
                received=received,
                now=now,
                keyed=True,
            ):
                # Only a number the line knows nothing of is asked: a client's
                # or family member's phone is never delayed.
                unknown = known is None and caller.client_id is None
                unknown = unknown and not caller.candidate_client_ids
                menu = language.menu_choices(team) if unknown else ()
                return "opened", _start_chain(
                    session,
                    team=team,
                    contact=contact,
                    call_sid=call_sid,
                    now=now,
                    menu=menu,
                    settings=runtime.settings,
                )
            # A concurrent delivery of the same CallSid won the race.
            existing = _contact_for_call(session, call_sid)
            assert existing is not None  # open_contact found its key taken
            assert existing is not None  # open_contact found its key taken
        return "duplicate", _opening(session, team=team, contact=existing, call_sid=call_sid)


def _menu(contact: Contact, team: Team) -> LanguageMenu:
    return LanguageMenu(
        contact_id=contact.id,
        choices=language.menu_choices(team),
        timeout_seconds=LANGUAGE_MENU_SECONDS,
    )


def _greeting_dial(session: Session, *, team: Team, contact: Contact) -> Dial:
    return _dial(
        session,
        team=team,
        contact=contact,
        step=_first_step(team, contact),
        intro=texts.team_text(team, "voice_greeting", contact.language),
    )


def _opening(session: Session, *, team: Team, contact: Contact, call_sid: str) -> Answer:
    """What a repeated call webhook hears: the menu while no choice is
    recorded, else the greeting and the first dial."""
    offered = _events(session, contact.id, EventKind.LANGUAGE_OFFERED)
    if offered and not _events(session, contact.id, EventKind.LANGUAGE_CHOSEN):
        return _menu(contact, team)
    return _greeting_dial(session, team=team, contact=contact)


def _start_chain(
    session: Session,
    *,
    team: Team,
    contact: Contact,
    call_sid: str,
    now: datetime,
    settings: Settings,
    menu: tuple[tuple[str, str], ...] = (),
) -> Answer:
    engine.plan_contact(session=session, contact=contact, team=team, now=now, channel=Channel.VOICE)
    CONTACTS_OPENED.labels("voice").inc()
    log.info(
        "contact_opened",
        contact_id=contact.id,
        team_id=team.id,
        channel=Channel.VOICE,
        known_client=contact.client_id is not None,
    )
    if menu:
        _record(
            session,
            contact,
            EventKind.LANGUAGE_OFFERED,
            f"{call_sid}:language-menu",
            now,
            data={"choices": [lang for lang, _digit in menu]},
        )
        return _menu(contact, team)
    return _dial_first(
        session, team=team, contact=contact, call_sid=call_sid, now=now, settings=settings
    )


def _dial_first(
    session: Session,
    *,
    team: Team,
    contact: Contact,
    call_sid: str,
    now: datetime,
    settings: Settings,
) -> Dial:
    answer = _greeting_dial(session, team=team, contact=contact)
    _take_step(
        session,
        team=team,
        contact=contact,
        step=answer.step,
        call_sid=call_sid,
        now=now,
        settings=settings,
    )
    return answer


def choose_language(
    runtime: Runtime, contact_id: int, call_sid: str, digits: str, call_status: str | None
) -> tuple[str, Answer | None]:
    """The language menu's answer (or its timeout, no digits): the call goes
    on in the chosen language, or the team's default; a choice is
    remembered for the number. Then the greeting and the first dial."""
    with runtime.db.session() as session:
        contact = contacts.lock_contact(session=session, contact_id=contact_id)
        if contact is None:
            return "unknown_contact", None
        team = session.get_one(Team, contact.team_id)
        now = runtime.now()
        over = _call_over(
            session,
            settings=runtime.settings,
            team=team,
            contact=contact,
            call_sid=call_sid,
            call_status=call_status,
            now=now,
        )
        if over is not None:
            return over, Hangup()
        chosen = language.language_for_digit(team, digits)
        if not _record(
            session,
            contact,
            EventKind.LANGUAGE_CHOSEN,
            f"{call_sid}:language",
            now,
            data={"digits": digits or None, "language": chosen or contact.language},
        ):
            return "duplicate", _greeting_dial(session, team=team, contact=contact)
        if chosen:
            contact.language = chosen
            language.remember(
                session=session,
                team_id=team.id,
                number=contact.from_number,
                language=chosen,
                now=now,
            )
            if team.page_speakers_first and chosen != team.default_language:
                # Nobody has been dialled yet: plan again, a speaker first.
                engine.plan_contact(
                    session=session, contact=contact, team=team, now=now, channel=Channel.VOICE
                )
        return (
            "chosen" if chosen else "default",
            _dial_first(
                session,
                team=team,
                contact=contact,
                call_sid=call_sid,
                now=now,
                settings=runtime.settings,
            ),
        )


# ---------------------------------------------------------------- screening


def screen_leg(
    runtime: Runtime, contact_id: int, level: int, staff_id: int, leg_sid: str
) -> tuple[str, Answer | None]:
    with runtime.db.session() as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            return "unknown_contact", None
        fresh = _record(
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


def screen_result(
    runtime: Runtime, contact_id: int, level: int, staff_id: int, leg_sid: str, digits: str
) -> tuple[str, Answer | None]:
    with runtime.db.session() as session:
        contact = contacts.lock_contact(session=session, contact_id=contact_id)
        if contact is None:
            return "unknown_contact", None
        now = runtime.now()
        if digits == "1":
            if _record(
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
        _record(
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
        contact = contacts.lock_contact(session=session, contact_id=contact_id)
        if contact is None:
            return "unknown_contact", None
        team = session.get_one(Team, contact.team_id)
        now = runtime.now()
        levels = plan_from_json(contact.plan)
        gone = chain.caller_gone(call_status)
        answered = any(e.level == level for e in _events(session, contact.id, EventKind.SCREENED))
        fresh = _record(
            session,
            contact,
            EventKind.DIAL_RESULT,
            f"{call_sid}:dial-result:{level}",
            now,
            level=level,
            data={"status": dial_status, "answered": answered, "caller_gone": gone},
        )
        over = _call_over(
            session,
            settings=runtime.settings,
            team=team,
            contact=contact,
            call_sid=call_sid,
            call_status=call_status,
            now=now,
        )
        if over is not None:
            return over, Hangup()
        step = chain.next_dial(
            levels,
            chain.levels_up_to(levels, level),
            False,
            voicemail_enabled=team.voicemail_enabled,
        )
        answer = _dial(
            session,
            team=team,
            contact=contact,
            step=step,
            intro=_(contact.language, chain.STILL_TRYING),
            after_fallback_status=dial_status,
        )
        if fresh:
            _take_step(
                session,
                team=team,
                contact=contact,
                step=step,
                call_sid=call_sid,
                now=now,
                settings=runtime.settings,
            )
        return (step.kind if fresh else "duplicate"), answer


# ---------------------------------------------------------------- voicemail


def voicemail_done(
    runtime: Runtime, contact_id: int, call_sid: str, call_status: str | None
) -> tuple[str, Answer | None]:
    with runtime.db.session() as session:
        contact = contacts.lock_contact(session=session, contact_id=contact_id)
        if contact is None:
            return "unknown_contact", None
        team = session.get_one(Team, contact.team_id)
        now = runtime.now()
        levels = plan_from_json(contact.plan)
        over = _call_over(
            session,
            settings=runtime.settings,
            team=team,
            contact=contact,
            call_sid=call_sid,
            call_status=call_status,
            now=now,
        )
        if over is not None:
            return over, Hangup()
        staff_levels = {lv.number for lv in levels if lv.kind != "fallback"}
        step = chain.next_dial(
            levels,
            staff_levels,
            False,
            voicemail_enabled=team.voicemail_enabled,
            voicemail_taken=True,
        )
        answer = _dial(session, team=team, contact=contact, step=step, intro=None)
        _take_step(
            session,
            team=team,
            contact=contact,
            step=step,
            call_sid=call_sid,
            now=now,
            settings=runtime.settings,
        )
        return step.kind, answer


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
        if status != "completed":
            _record(
                session,
                contact,
                EventKind.VOICEMAIL_FAILED,
                f"{recording_sid}:recording:{status}",
                now,
                data={"status": status, "recording_sid": recording_sid},
            )
            return "failed"
        if not _record(
            session,
            contact,
            EventKind.VOICEMAIL,
            f"{recording_sid}:recording",
            now,
            data={"recording_sid": recording_sid, "duration": duration},
        ):
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


# ---------------------------------------------------------------- the call's status


def call_status(runtime: Runtime, call_sid: str, status: str, duration: str | None) -> str:
    """The call ended with no acceptance recorded: a missed crisis call,
    handed to the SMS escalation engine."""
    with runtime.db.session() as session:
        found = _contact_for_call(session, call_sid)
        if found is None:
            return "unknown_call"
        if not chain.caller_gone(status):
            return "in_progress"
        contact = contacts.lock_contact(session=session, contact_id=found.id)
        assert contact is not None  # _contact_for_call just read it
        now = runtime.now()
        if _accepted(session, contact.id):
            _record(
                session,
                contact,
                EventKind.CALL_ENDED,
                f"{call_sid}:ended",
                now,
                data={"status": status, "duration": duration},
            )
            return "ended"
        team = session.get_one(Team, contact.team_id)
        if _caller_gone(
            session,
            settings=runtime.settings,
            team=team,
            contact=contact,
            call_sid=call_sid,
            now=now,
        ):
            return "caller_gone"
        return "duplicate"
