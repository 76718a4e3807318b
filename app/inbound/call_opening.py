"""A call's opening: the contact opened once per CallSid (the same
`identify_caller`, `new_contact` and `open_contact` as a text), the language
menu for an unknown caller on a team offering several languages, then the
greeting and level 1's phones. The steps and their guard are in
app.inbound.call_steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from sqlalchemy import select
from sqlmodel import col

from app.contacts.models import Channel, EventKind
from app.escalation import engine
from app.escalation import voice_chain as chain
from app.inbound import language
from app.inbound.call_answers import Answer, Dial, LanguageMenu
from app.inbound.call_steps import (
    LiveCall,
    call_events,
    contact_for_call,
    dial,
    record_step,
    step_event,
    take_step,
    unless_call_over,
)
from app.inbound.opening import identify_caller, new_contact, open_contact
from app.messaging import texts
from app.ops.metrics import CONTACTS_OPENED
from app.routing import plan_from_json
from app.teams.models import Team
from app.teams.phones import e164_or_raw

if TYPE_CHECKING:
    from app.runtime import Runtime

log = structlog.get_logger(__name__)

# How long the language menu waits for a digit after its prompt: short, since
# the dial waits for it.
LANGUAGE_MENU_SECONDS = 2


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
        existing = contact_for_call(session, call_sid)
        now = runtime.now()
        if existing is None:
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
            received = step_event(
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
                call = LiveCall(session, runtime.settings, team, contact, call_sid, now)
                return "opened", _start_chain(call, menu=menu)
            # A concurrent delivery of the same CallSid won the race.
            existing = contact_for_call(session, call_sid)
            assert existing is not None  # open_contact found its key taken
        call = LiveCall(session, runtime.settings, team, existing, call_sid, now)
        return "duplicate", _opening(call)


def _menu(call: LiveCall) -> LanguageMenu:
    return LanguageMenu(
        contact_id=call.contact.id,
        choices=language.menu_choices(call.team),
        timeout_seconds=LANGUAGE_MENU_SECONDS,
    )


def _greeting_dial(call: LiveCall) -> Dial:
    team, contact = call.team, call.contact
    first = chain.first_dial(plan_from_json(contact.plan), voicemail_enabled=team.voicemail_enabled)
    return dial(call, first, texts.team_text(team, "voice_greeting", contact.language))


def _dial_first(call: LiveCall) -> Dial:
    answer = _greeting_dial(call)
    take_step(call, answer.step)
    return answer


def _opening(call: LiveCall) -> Answer:
    """What a repeated call webhook hears: the menu while no choice is
    recorded, else the greeting and the first dial."""
    offered = call_events(call.session, call.contact.id, EventKind.LANGUAGE_OFFERED)
    if offered and not call_events(call.session, call.contact.id, EventKind.LANGUAGE_CHOSEN):
        return _menu(call)
    return _greeting_dial(call)


def _start_chain(call: LiveCall, menu: tuple[tuple[str, str], ...] = ()) -> Answer:
    team, contact = call.team, call.contact
    engine.plan_contact(
        session=call.session, contact=contact, team=team, now=call.now, channel=Channel.VOICE
    )
    CONTACTS_OPENED.labels("voice").inc()
    log.info(
        "contact_opened",
        contact_id=contact.id,
        team_id=team.id,
        channel=Channel.VOICE,
        known_client=contact.client_id is not None,
    )
    if menu:
        record_step(
            call.session,
            contact,
            EventKind.LANGUAGE_OFFERED,
            f"{call.call_sid}:language-menu",
            call.now,
            data={"choices": [lang for lang, _digit in menu]},
        )
        return _menu(call)
    return _dial_first(call)


def choose_language(
    runtime: Runtime, contact_id: int, call_sid: str, digits: str, call_status: str | None
) -> tuple[str, Answer | None]:
    """The language menu's answer (or its timeout, no digits): the call goes
    on in the chosen language, or the team's default; a choice is
    remembered for the number. Then the greeting and the first dial."""
    return unless_call_over(
        runtime, contact_id, call_sid, call_status, lambda call: _language_chosen(call, digits)
    )


def _language_chosen(call: LiveCall, digits: str) -> tuple[str, Dial]:
    session, team, contact, now = call.session, call.team, call.contact, call.now
    chosen = language.language_for_digit(team, digits)
    if not record_step(
        session,
        contact,
        EventKind.LANGUAGE_CHOSEN,
        f"{call.call_sid}:language",
        now,
        data={"digits": digits or None, "language": chosen or contact.language},
    ):
        return "duplicate", _greeting_dial(call)
    if chosen:
        contact.language = chosen
        language.remember(
            session=session, team_id=team.id, number=contact.from_number, language=chosen, now=now
        )
        if team.page_speakers_first and chosen != team.default_language:
            # Nobody has been dialled yet: plan again, a speaker first.
            engine.plan_contact(
                session=session, contact=contact, team=team, now=now, channel=Channel.VOICE
            )
    return ("chosen" if chosen else "default"), _dial_first(call)
