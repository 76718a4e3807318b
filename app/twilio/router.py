"""Twilio webhooks: inbound SMS, message status, and the database-free fallback.

Each handler records first and answers Twilio in milliseconds; nothing here
makes an outbound HTTP call. Inbound texts are routed by the worker; outbox
rows written here are dispatched after the response.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import col

if TYPE_CHECKING:
    from app.runtime import Runtime
import structlog
from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.background import BackgroundTask
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from app.errors import NotFound
from app.escalation.failures import on_message_failed
from app.inbound.message import InboundSms
from app.messaging.models import FINAL_FAILURES, EarlyStatusCallback, OutboundMessage
from app.messaging.outbox import advance_status
from app.ops.metrics import WEBHOOKS
from app.runtime import Runtime, RuntimeDep
from app.teams.phones import e164_or_raw
from app.twilio.http import XML, clean, media, required, run_db, unavailable
from app.twilio.security import TwilioForm

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/twilio", tags=["twilio"])

EMPTY_TWIML = str(MessagingResponse())


def _record_sms(runtime: Runtime, sms: InboundSms) -> str:
    if not runtime.is_crisis_line(sms.to_number):
        return "unknown_line"
    return "recorded" if runtime.inbox.record(sms, now=runtime.now()) else "duplicate"


async def _record_sms_at_once(runtime: Runtime, sms: InboundSms) -> str | None:
    """The text written from the event loop itself when nothing can make that
    wait (app.inbound.inbox.Inbox.record_at_once), only for a known line.
    None: use the thread pool (`_record_sms`)."""
    if sms.to_number not in runtime.fallback_numbers:
        return None
    try:
        recorded = await runtime.inbox.record_at_once(sms, now=runtime.now())
    except (OperationalError, DBAPIError) as exc:
        raise unavailable(exc) from None
    if recorded is None:
        return None
    return "recorded" if recorded else "duplicate"


@router.post("/sms", response_class=Response)
async def inbound_sms(runtime: RuntimeDep, form: TwilioForm) -> Response:
    """An SMS to a crisis line. Recorded (one idempotent insert) and answered
    `<Response/>`; the worker routes it right after (app.inbound.inbox), so
    Twilio's answer never waits on routing and a burst is never refused."""
    sms = InboundSms(
        message_sid=required(form, "MessageSid"),
        from_number=required(form, "From"),
        body=clean(form.get("Body")),
        media=media(form),
        to_number=e164_or_raw(required(form, "To")),
    )
    outcome = await _record_sms_at_once(runtime, sms) or await run_db(_record_sms, runtime, sms)
    WEBHOOKS.labels("sms", outcome).inc()
    if outcome == "unknown_line":
        log.warning("sms_to_unknown_line", to=sms.to_number)
        raise NotFound("no team uses this crisis line number")
    return Response(EMPTY_TWIML, media_type=XML)


def _process_status(runtime: Runtime, message_sid: str, status: str, error_code: str | None) -> str:
    with runtime.db.session() as session:
        query = select(OutboundMessage).where(col(OutboundMessage.provider_sid) == message_sid)
        if runtime.db.is_postgres:
            # Callbacks for one message may arrive together (a repeat, a late "sent"):
            # one at a time, so each sees what the previous one wrote.
            query = query.with_for_update()
        message = session.execute(query).scalars().first()
        now = runtime.now()
        if message is None:
            # Twilio can call back before our write of the SID it gave us has
            # committed: keep the status for that write to apply.
            session.add(
                EarlyStatusCallback(
                    provider_sid=message_sid, status=status, error_code=error_code, received_at=now
                )
            )
            return "early"
        if not advance_status(message, status, error_code=error_code, at=now):
            return "stale"
        session.add(message)
        if status in FINAL_FAILURES:
            on_message_failed(session, message, now, runtime.settings)
        return "updated"


@router.post("/status", status_code=204, response_class=Response)
async def message_status(runtime: RuntimeDep, form: TwilioForm) -> Response:
    """Outbound message status. Moves forward only; an undelivered or failed
    staff notification escalates at once."""
    outcome = await run_db(
        _process_status,
        runtime,
        required(form, "MessageSid"),
        required(form, "MessageStatus").lower(),
        clean(form.get("ErrorCode"))[:20] or None,
    )
    WEBHOOKS.labels("status", outcome).inc()
    return Response(status_code=204, background=BackgroundTask(runtime.dispatcher.dispatch))


@router.post("/fallback", response_class=Response)
async def fallback(runtime: RuntimeDep, form: TwilioForm) -> Response:
    """Twilio's fallback URL: static TwiML from memory, no database, so the
    line is answered even when everything behind it is down."""
    to_number = e164_or_raw(str(form.get("To") or ""))
    number = runtime.fallback_numbers.get(to_number, runtime.settings.default_fallback_number)
    WEBHOOKS.labels("fallback", "voice" if form.get("CallSid") else "sms").inc()
    if form.get("CallSid"):
        response = VoiceResponse()
        response.say(
            "Connecting you to the crisis team now. If you are in immediate danger, hang up and call 911."
        )
        response.dial(number)
        return Response(str(response), media_type=XML)
    reply = MessagingResponse()
    reply.message(
        f"We could not take your message right now. Please call {number}, call or text 988, "
        "or call 911 if you are in immediate danger."
    )
    return Response(str(reply), media_type=XML)
