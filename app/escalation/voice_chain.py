"""The voice chain's decisions, as pure functions of plain values.

A live call walks the contact's route plan (app.routing.plan) one level at a
time: each staff level is dialled at once (every phone in the level rings),
each leg is screened, and only a recorded "press 1" counts as an answer. When
every staff level has been tried, the team's voicemail (if enabled) comes
before the external fallback, which is dialled without screening.

Nothing here touches the database or Twilio: the webhooks in
app.twilio.voice load rows, ask these functions what comes next, and write
the difference. A repeated callback asks the same question with the same
inputs and so gets the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.i18n import N_, _
from app.messaging.texts import RELATIONS
from app.routing import Level


class DialKind(StrEnum):
    STAFF = "staff"  # dial a staff level, every leg screened
    VOICEMAIL = "voicemail"  # record a message for the team, then the fallback
    FALLBACK = "fallback"  # dial the external crisis line, unscreened
    DONE = "done"  # nothing left to dial: end the call


STAFF = DialKind.STAFF
VOICEMAIL = DialKind.VOICEMAIL
FALLBACK = DialKind.FALLBACK
DONE = DialKind.DONE

# A leg's or a call's final statuses (Twilio's CallStatus / DialCallStatus).
CALL_ENDED = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


@dataclass(frozen=True)
class DialStep:
    kind: DialKind
    level: int | None = None  # the plan level dialled (fallback: its level)
    staff_ids: tuple[int, ...] = ()  # STAFF: who is dialled, in plan order
    number: str | None = None  # FALLBACK: the external number


def next_dial(
    plan_levels: Sequence[Level],
    tried_levels: Iterable[int],
    accepted: bool,
    *,
    voicemail_enabled: bool = False,
    voicemail_taken: bool = False,
) -> DialStep:
    """What the caller is connected to next.

    Staff levels go in plan order, skipping the tried ones; nobody is dialled
    twice (someone already dialled at a tried level is dropped from a later
    one, and a level left with nobody is skipped). An accepted call, or a
    chain whose fallback was tried, is done.
    """
    if accepted:
        return DialStep(DONE)
    tried = set(tried_levels)
    dialled: set[int] = set()
    for level in plan_levels:
        if level.kind != "fallback" and level.number in tried:
            dialled.update(level.staff_ids)
    for level in plan_levels:
        if level.kind == "fallback" or level.number in tried:
            continue
        staff_ids = tuple(s for s in level.staff_ids if s not in dialled)
        if staff_ids:
            return DialStep(STAFF, level=level.number, staff_ids=staff_ids)
    fallback = fallback_of(plan_levels)
    if fallback is None or fallback.number in tried:
        return DialStep(DONE)
    if voicemail_enabled and not voicemail_taken:
        return DialStep(VOICEMAIL, level=fallback.number)
    return DialStep(FALLBACK, level=fallback.number, number=fallback.number_to_dial)


def first_dial(plan_levels: Sequence[Level], *, voicemail_enabled: bool = False) -> DialStep:
    """The call's first step: level 1's phones, screened. When nobody is
    reachable (the plan is only the fallback) the caller goes straight to the
    external fallback: no voicemail first, since no one is on call to hear it."""
    step = next_dial(plan_levels, (), False, voicemail_enabled=voicemail_enabled)
    if step.kind == VOICEMAIL:
        return next_dial(plan_levels, (), False)
    return step


def fallback_of(plan_levels: Sequence[Level]) -> Level | None:
    return next((level for level in plan_levels if level.kind == "fallback"), None)


def levels_up_to(plan_levels: Sequence[Level], level: int) -> set[int]:
    """The levels tried once the dial of `level` has ended (dialling is in order)."""
    return {lv.number for lv in plan_levels if lv.number <= level}


def sms_handoff_level(
    plan_levels: Sequence[Level],
    dialled_staff_ids: Iterable[int],
    current_level: int,
) -> int:
    """Where the SMS engine takes over a call whose caller hung up before
    anyone accepted: the level whose phones were ringing (the current
    on-call). They just saw a missed call with no context; the text gives it
    ("missed call … call back"), and the tick escalates from there. A caller
    gone before any level was dialled (on the language menu) goes to level 1."""
    return max(current_level, 1)


def caller_gone(call_status: str | None) -> bool:
    """Whether the caller's own leg has ended (CallStatus on an action request
    or the call's status callback); a missing status means still there."""
    return (call_status or "").lower() in CALL_ENDED


# ---------------------------------------------------------------- the words
# Each in the language of who hears it: the caller's (the contact's
# language) or, on a screened staff leg, the staff member's own.


def screen_prompt(*, who: str, lang: str) -> str:
    """What a staff member hears on answering: who, never any clinical detail."""
    return _(lang, "Crisis call for {who}. Press 1 to accept.").format(who=who)


def screen_who(
    *, preferred_name: str | None, relation: str | None, ambiguous: bool, lang: str
) -> str:
    """The caller as the screen names them: the client's preferred name (or
    "mother of Sam" for a known support person), else "an unknown caller".
    A number shared by several clients names nobody: it could be any of them."""
    if ambiguous or not preferred_name:
        return _(lang, "an unknown caller")
    name = " ".join(preferred_name.split()) or _(lang, "a client")  # spoken, so any script is fine
    if relation and relation != "self":
        return _(lang, "{relation} of {name}").format(
            relation=_(lang, RELATIONS.get(relation, relation)), name=name
        )
    return name


STILL_TRYING = N_("Still connecting you to your care team. Please stay on the line.")
SCREEN_NOT_ACCEPTED = N_("The call was not accepted. Goodbye.")
VOICEMAIL_PROMPT = N_(
    "Nobody from your care team could answer right now. After the tone, leave a short message "
    "with your name and number and we will call you back. Then stay on the line to be connected "
    "to the crisis team."
)
CONNECTING_FALLBACK = N_(
    "Connecting you to the crisis team now. If you are in immediate danger, hang up and call 911."
)
# Spoken in each language the menu offers, in that language ("Para español,
# oprima 2"): each catalog names its own language here.
LANGUAGE_MENU = N_("For English, press {digit}.")


def voicemail_alert(*, contact_id: int, from_number: str, recording_url: str, lang: str) -> str:
    """An SMS to the on-call and the supervisors: a link to the message, never a transcript."""
    return _(lang, "#{contact_id} voicemail from {from_number}: {url}").format(
        contact_id=contact_id, from_number=from_number, url=recording_url
    )
