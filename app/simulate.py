"""`crisisroute simulate`: signed Twilio webhooks to a running server, then
what the service sent in reply (read from the outbox)."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select
from sqlmodel import col
from twilio.request_validator import RequestValidator

from app.db import Database
from app.messaging.models import InboxMessage, MessagePurpose, OutboundMessage


def post_webhook(
    *, base_url: str, token: str, path: str, params: dict, public_base_url: str | None = None
) -> httpx.Response:
    """Post to `base_url`, signed as Twilio would sign it: over the URL the
    server believes it is reached at (its PUBLIC_BASE_URL)."""
    signed_url = (public_base_url or base_url).rstrip("/") + path
    signature = RequestValidator(token).compute_signature(signed_url, params)
    return httpx.post(
        base_url.rstrip("/") + path,
        data=params,
        headers={"X-Twilio-Signature": signature},
        timeout=15,
    )


def sms_params(from_number: str, to_number: str, body: str) -> dict:
    return {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": from_number,
        "To": to_number,
        "Body": body,
        "NumMedia": "0",
    }


def call_params(from_number: str, to_number: str) -> dict:
    return {
        "CallSid": "CA" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": from_number,
        "To": to_number,
        "CallStatus": "ringing",
        "Direction": "inbound",
    }


def outbox_since(db: Database, last_id: int, wait_seconds: float = 2.0) -> list[OutboundMessage]:
    """Messages written after `last_id`, waiting briefly for the dispatcher."""
    deadline = time.monotonic() + wait_seconds
    rows: list[OutboundMessage] = []
    while time.monotonic() < deadline:
        with db.session() as session:
            rows = list(
                session.execute(
                    select(OutboundMessage)
                    .where(col(OutboundMessage.id) > last_id)
                    .order_by(col(OutboundMessage.id))
                ).scalars()
            )
        if rows:
            time.sleep(0.2)  # let the rest of the same decision land
            with db.session() as session:
                return list(
                    session.execute(
                        select(OutboundMessage)
                        .where(col(OutboundMessage.id) > last_id)
                        .order_by(col(OutboundMessage.id))
                    ).scalars()
                )
        time.sleep(0.1)
    return rows


def wait_until_routed(db: Database, message_sid: str, wait_seconds: float = 10.0) -> str | None:
    """The routing outcome of a recorded text once the worker has routed it
    (None if it has not within `wait_seconds`: is a worker running?)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with db.session() as session:
            row = session.execute(
                select(col(InboxMessage.processed_at), col(InboxMessage.outcome)).where(
                    col(InboxMessage.message_sid) == message_sid
                )
            ).first()
        if row is not None and row.processed_at is not None:
            return row.outcome
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def last_outbox_id(db: Database) -> int:
    with db.session() as session:
        return session.execute(select(func.max(OutboundMessage.id))).scalar() or 0


def latest_page_call(db: Database, message_id: int | None = None) -> OutboundMessage | None:
    """The page call to answer: the given outbox row, or the newest one."""
    with db.session() as session:
        query = select(OutboundMessage).where(
            col(OutboundMessage.purpose) == MessagePurpose.PAGE_CALL
        )
        if message_id is not None:
            query = query.where(col(OutboundMessage.id) == message_id)
        return session.execute(query.order_by(col(OutboundMessage.id).desc())).scalars().first()


def page_call_steps(url: str, press: str) -> list[tuple[str, dict]]:
    """What Twilio posts for a page call answered and `press`ed ("1", "2" or
    "none": picked up, nothing pressed, as a voicemail greeting would)."""
    parts = urlsplit(url)
    page = f"{parts.path}?{parts.query}"
    sid = "CA" + uuid.uuid4().hex
    common = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "Direction": "outbound-api"}
    digits = "" if press == "none" else press
    return [
        (page, {**common, "CallStatus": "in-progress"}),
        (
            page.replace("/twilio/voice/page?", "/twilio/voice/page-result?"),
            {**common, "CallStatus": "in-progress", "Digits": digits},
        ),
        (
            page.replace("/twilio/voice/page?", "/twilio/voice/page-status?"),
            {**common, "CallStatus": "completed", "CallDuration": "15"},
        ),
    ]
