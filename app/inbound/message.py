"""The one shape of an inbound text, from the inbox to client or staff handling."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class InboundSms:
    message_sid: str
    from_number: str  # E.164
    body: str
    # An MMS's attachments, `{"url", "content_type"}` each, as Twilio sent them.
    media: list[dict[str, str]] = field(default_factory=list)
