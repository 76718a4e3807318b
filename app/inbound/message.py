"""The one shape of an inbound text, from the inbox to client or staff handling."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InboundSms:
    message_sid: str
    from_number: str  # E.164
    body: str
