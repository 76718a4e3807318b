"""The page call's webhooks: parse Twilio's form, call the page call use case
(app.inbound.page_call), render what it decided as TwiML.

    POST /twilio/voice/page          the paged person picked up: <Gather numDigits="1">
    POST /twilio/voice/page-result   Digits: 1 takes the contact, 2 passes, else nothing
    POST /twilio/voice/page-status   the call's final status (busy, no-answer, completed, …)
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Response
from twilio.twiml.voice_response import VoiceResponse

from app.errors import NotFound
from app.inbound import page_call
from app.ops.metrics import WEBHOOKS
from app.runtime import Runtime, RuntimeDep
from app.twilio.http import required, run_db, twiml_then_dispatch
from app.twilio.security import TwilioForm
from app.twilio.voice import _speech

router = APIRouter(prefix="/twilio/voice", tags=["twilio"])

PAGE_GATHER_SECONDS = 8
# Why a page call was placed (app.escalation.paging's purposes).
PURPOSES = "^(notify|alert|realert|remind|keep_ask)$"


def _leg(
    form: TwilioForm,
    contact: int = Query(),
    level: int = Query(),
    staff: int = Query(),
    purpose: str = Query(default="notify", pattern=PURPOSES),
) -> page_call.Leg:
    """The page call's leg, from its URL's query and the CallSid Twilio posts."""
    return page_call.Leg(
        contact_id=contact,
        level=level,
        staff_id=staff,
        purpose=purpose,
        call_sid=required(form, "CallSid"),
    )


PageLeg = Annotated[page_call.Leg, Depends(_leg)]


def render(answer: page_call.PageAnswer, base_url: str, leg: page_call.Leg) -> str:
    response = VoiceResponse()
    if isinstance(answer, page_call.Ask):
        query = urlencode(
            {
                "contact": leg.contact_id,
                "level": leg.level,
                "staff": leg.staff_id,
                "purpose": leg.purpose,
            }
        )
        gather = response.gather(
            num_digits=1,
            timeout=PAGE_GATHER_SECONDS,
            method="POST",
            action_on_empty_result=True,
            action=f"{base_url}/twilio/voice/page-result?{query}",
        )
        gather.say(answer.prompt, loop=2, **_speech(answer.language))
        # Reached only if Twilio did not post the empty result: nothing pressed.
        response.hangup()
    else:
        response.say(answer.text, **_speech(answer.language))
        response.hangup()
    return str(response)


def _answer(runtime: Runtime, answer: page_call.PageAnswer | None, leg: page_call.Leg) -> Response:
    if answer is None:
        raise NotFound("unknown contact or staff member")
    return twiml_then_dispatch(render(answer, runtime.settings.public_base_url, leg), runtime)


@router.post("/page", response_class=Response)
async def page(runtime: RuntimeDep, leg: PageLeg) -> Response:
    """The paged person's phone picked up: who it is about, press 1 or 2."""
    outcome, answer = await run_db(page_call.answered, runtime, leg)
    WEBHOOKS.labels("voice_page", outcome).inc()
    return _answer(runtime, answer, leg)


@router.post("/page-result", response_class=Response)
async def page_result(runtime: RuntimeDep, form: TwilioForm, leg: PageLeg) -> Response:
    """Digits=1 takes the contact for this person, 2 passes it on, anything else does nothing."""
    digits = str(form.get("Digits") or "").strip()
    outcome, answer = await run_db(page_call.pressed, runtime, leg, digits)
    WEBHOOKS.labels("voice_page_result", outcome).inc()
    return _answer(runtime, answer, leg)


@router.post("/page-status", status_code=204, response_class=Response)
async def page_status(runtime: RuntimeDep, form: TwilioForm, leg: PageLeg) -> Response:
    """The page call ended. Whatever the status, nothing is acknowledged here."""
    outcome = await run_db(
        page_call.call_ended,
        runtime,
        leg,
        required(form, "CallStatus").lower(),
        form.get("CallDuration"),
    )
    WEBHOOKS.labels("voice_page_status", outcome).inc()
    if outcome == "unknown_contact":
        raise NotFound("unknown contact")
    return Response(status_code=204)
