"""The voice webhooks: parse Twilio's form, call the voice use case
(app.inbound.call_opening, call_progress, voicemail), render what it decided as TwiML.

    POST /twilio/voice                 the call: record, plan, greet, dial level 1
    POST /twilio/voice/language        the language menu's digit (or its timeout): greet, dial level 1
    POST /twilio/voice/screen          a staff leg answered: "press 1 to accept"
    POST /twilio/voice/screen-result   Digits=1 accepts (bridge); anything else hangs that leg up
    POST /twilio/voice/dial-result     a level's <Dial> ended: done if accepted, else the next level
    POST /twilio/voice/voicemail-done  the caller's message ended: the external fallback
    POST /twilio/voice/recording       a voicemail is ready: SMS a link to the on-call and supervisors
    POST /twilio/voice/status          the call's status callback: a caller gone before anyone
                                       accepted is handed to the SMS escalation engine

Configure the crisis line number's "call status changes" URL as
PUBLIC_BASE_URL/twilio/voice/status: it is how a hang-up is known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Depends, Query, Response
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from twilio.twiml.voice_response import VoiceResponse

from app import i18n
from app.errors import NotFound
from app.escalation import voice_chain as chain
from app.i18n import _
from app.inbound import call_answers, call_opening, call_progress, voicemail
from app.messaging import texts
from app.ops.metrics import WEBHOOKS
from app.runtime import RuntimeDep
from app.teams.phones import e164_or_raw
from app.twilio.http import required, run_db, twiml_then_dispatch
from app.twilio.security import TwilioForm

if TYPE_CHECKING:
    from app.runtime import Runtime

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/twilio/voice", tags=["twilio"])

SCREEN_GATHER_SECONDS = 8
VOICEMAIL_MAX_SECONDS = 120


# ---------------------------------------------------------------- TwiML


def _url(base_url: str, step: str, **query: int) -> str:
    return f"{base_url}/twilio/voice/{step}?{urlencode(query)}"


def _speech(language: str) -> dict[str, str]:
    """<Say>'s `language` and a voice Twilio lists for it."""
    code, voice_name = i18n.SPEECH.get(language, i18n.SPEECH[i18n.SOURCE_LANGUAGE])
    return {"language": code, "voice": voice_name}


def _render_dial(answer: call_answers.Dial, base_url: str) -> VoiceResponse:
    response = VoiceResponse()
    step, contact_id = answer.step, answer.contact_id
    lang = answer.language
    speech = _speech(lang)
    if step.kind == chain.STAFF:
        assert step.level is not None  # a staff step names its level
        if answer.intro:
            response.say(answer.intro, **speech)
        dial = response.dial(
            answer_on_bridge=True,
            timeout=answer.timeout_seconds,
            method="POST",
            caller_id=answer.caller_id,
            action=_url(base_url, "dial-result", contact=contact_id, level=step.level),
        )
        for staff_id, phone in answer.phones:
            dial.number(
                phone,
                method="POST",
                url=_url(base_url, "screen", contact=contact_id, level=step.level, staff=staff_id),
            )
    elif step.kind == chain.VOICEMAIL:
        response.say(_(lang, chain.VOICEMAIL_PROMPT), **speech)
        response.record(
            action=_url(base_url, "voicemail-done", contact=contact_id),
            method="POST",
            max_length=VOICEMAIL_MAX_SECONDS,
            play_beep=True,
            finish_on_key="#",
            recording_status_callback=_url(base_url, "recording", contact=contact_id),
            recording_status_callback_method="POST",
        )
    elif step.kind == chain.FALLBACK:
        if answer.intro and answer.intro != _(lang, chain.STILL_TRYING):
            response.say(answer.intro, **speech)
        response.say(_(lang, chain.CONNECTING_FALLBACK), **speech)
        # Unscreened, and with the caller's own number so the crisis team can call back.
        assert step.level is not None  # a fallback step names its level
        dial = response.dial(
            answer_on_bridge=True,
            method="POST",
            action=_url(base_url, "dial-result", contact=contact_id, level=step.level),
        )
        dial.number(step.number)
    else:
        status = answer.after_fallback_status
        if status is not None and status != "completed":
            response.say(_(lang, texts.FALLBACK_FAILED), **speech)
        response.hangup()
    return response


def _render_screen(answer: call_answers.Screen, base_url: str) -> VoiceResponse:
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1,
        timeout=SCREEN_GATHER_SECONDS,
        method="POST",
        action_on_empty_result=True,
        action=_url(
            base_url,
            "screen-result",
            contact=answer.contact_id,
            level=answer.level,
            staff=answer.staff_id,
        ),
    )
    speech = _speech(answer.language)
    gather.say(chain.screen_prompt(who=answer.who, lang=answer.language), loop=2, **speech)
    # Reached only if Twilio did not post the empty result: a voicemail never presses 1.
    response.say(_(answer.language, chain.SCREEN_NOT_ACCEPTED), **speech)
    response.hangup()
    return response


def _render_language_menu(answer: call_answers.LanguageMenu, base_url: str) -> VoiceResponse:
    response = VoiceResponse()
    action = _url(base_url, "language", contact=answer.contact_id)
    gather = response.gather(
        num_digits=1,
        timeout=answer.timeout_seconds,
        method="POST",
        action_on_empty_result=True,
        action=action,
    )
    for lang, digit in answer.choices:
        gather.say(_(lang, chain.LANGUAGE_MENU).format(digit=digit), **_speech(lang))
    # Reached only if Twilio did not post the empty result: on in the default.
    response.redirect(action, method="POST")
    return response


def render(answer: call_answers.Answer, base_url: str) -> str:
    """The TwiML of what the use case decided. Deterministic in its inputs,
    so a repeated callback gets the same answer."""
    if isinstance(answer, call_answers.Dial):
        return str(_render_dial(answer, base_url))
    if isinstance(answer, call_answers.Screen):
        return str(_render_screen(answer, base_url))
    if isinstance(answer, call_answers.LanguageMenu):
        return str(_render_language_menu(answer, base_url))
    response = VoiceResponse()
    if isinstance(answer, call_answers.Decline):
        response.say(_(answer.language, chain.SCREEN_NOT_ACCEPTED), **_speech(answer.language))
        response.hangup()
    elif isinstance(answer, call_answers.Hangup):
        response.hangup()
    # Bridge: an empty response, the legs are bridged.
    return str(response)


def _answer(runtime: Runtime, answer: call_answers.Answer | None) -> Response:
    if answer is None:
        raise NotFound("unknown contact")
    return twiml_then_dispatch(render(answer, runtime.settings.public_base_url), runtime)


async def _heard_next(
    runtime: Runtime,
    webhook: str,
    use_case: Callable[..., tuple[str, call_answers.Answer | None]],
    *args: object,
) -> Response:
    """Run the use case off the event loop, count its outcome, render its answer."""
    outcome, answer = await run_db(use_case, runtime, *args)
    WEBHOOKS.labels(webhook, outcome).inc()
    return _answer(runtime, answer)


def _digits(form: FormData) -> str:
    return str(form.get("Digits") or "").strip()


# ---------------------------------------------------------------- endpoints


@router.post("", response_class=Response)
async def inbound_call(runtime: RuntimeDep, form: TwilioForm) -> Response:
    """A call to a crisis line: greeting, then the first level's phones, each screened."""
    to_number = e164_or_raw(required(form, "To"))
    outcome, answer = await run_db(
        call_opening.answer_call,
        runtime,
        to_number,
        required(form, "From"),
        required(form, "CallSid"),
    )
    WEBHOOKS.labels("voice", outcome).inc()
    if outcome == "unknown_line":
        log.warning("call_to_unknown_line")
        raise NotFound("no team uses this crisis line number")
    return _answer(runtime, answer)


@router.post("/language", response_class=Response)
async def language_chosen(
    runtime: RuntimeDep, form: TwilioForm, contact: int = Query()
) -> Response:
    """The language menu's digit, or none (its timeout): the greeting and the
    first level's phones in that language."""
    return await _heard_next(
        runtime,
        "voice_language",
        call_opening.choose_language,
        contact,
        required(form, "CallSid"),
        _digits(form),
        form.get("CallStatus"),
    )


def _staff_leg(
    form: TwilioForm, contact: int = Query(), level: int = Query(), staff: int = Query()
) -> call_progress.StaffLeg:
    """A staff leg, from its URL's query and the CallSid Twilio posts."""
    return call_progress.StaffLeg(
        contact_id=contact, level=level, staff_id=staff, leg_sid=required(form, "CallSid")
    )


StaffLeg = Annotated[call_progress.StaffLeg, Depends(_staff_leg)]


@router.post("/screen", response_class=Response)
async def screen(runtime: RuntimeDep, leg: StaffLeg) -> Response:
    """A staff leg picked up: who is calling (never clinical detail), press 1 to accept."""
    return await _heard_next(runtime, "voice_screen", call_progress.screen_leg, leg)


@router.post("/screen-result", response_class=Response)
async def screen_result(runtime: RuntimeDep, form: TwilioForm, leg: StaffLeg) -> Response:
    """Digits=1: accepted, an empty response bridges the call. Anything else: this leg hangs up."""
    return await _heard_next(
        runtime, "voice_screen_result", call_progress.screen_result, leg, _digits(form)
    )


@router.post("/dial-result", response_class=Response)
async def dial_result(
    runtime: RuntimeDep, form: TwilioForm, contact: int = Query(), level: int = Query()
) -> Response:
    """A level's <Dial> ended. Accepted (by the service's own record) → hang up;
    otherwise the next level, the voicemail, the fallback, or the end."""
    return await _heard_next(
        runtime,
        "voice_dial_result",
        call_progress.dial_result,
        contact,
        level,
        required(form, "CallSid"),
        str(form.get("DialCallStatus") or "").lower(),
        form.get("CallStatus"),
    )


@router.post("/voicemail-done", response_class=Response)
async def voicemail_done(runtime: RuntimeDep, form: TwilioForm, contact: int = Query()) -> Response:
    """The caller finished their message (the <Record> action): connect them to the external fallback."""
    return await _heard_next(
        runtime,
        "voice_voicemail_done",
        voicemail.voicemail_done,
        contact,
        required(form, "CallSid"),
        form.get("CallStatus"),
    )


@router.post("/recording", status_code=204, response_class=Response)
async def recording(runtime: RuntimeDep, form: TwilioForm, contact: int = Query()) -> Response:
    """A voicemail is ready (recordingStatusCallback): the on-call and the
    supervisors get a link by SMS, once."""
    outcome = await run_db(
        voicemail.voicemail_recorded,
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


@router.post("/status", status_code=204, response_class=Response)
async def call_status(runtime: RuntimeDep, form: TwilioForm) -> Response:
    """The call's status callback. Ended with no acceptance recorded: a missed
    crisis call, handed to the SMS escalation engine."""
    outcome = await run_db(
        call_progress.call_status,
        runtime,
        required(form, "CallSid"),
        str(form.get("CallStatus") or "").lower(),
        form.get("CallDuration"),
    )
    WEBHOOKS.labels("voice_status", outcome).inc()
    return Response(status_code=204, background=BackgroundTask(runtime.dispatcher.dispatch))
