"""The one shape of an inbound text, from the webhook through the inbox to
client or staff handling."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class InboundSms:
    message_sid: str
    # As Twilio sent it until routing makes it E.164 with the team's region.
    from_number: str
    body: str
    # An MMS's attachments, `{"url", "content_type"}` each, as Twilio sent them.
    media: list[dict[str, str]] = field(default_factory=list)
    to_number: str = ""  # the crisis line, E.164 (routing has the team instead)

    def row(self, now: datetime) -> dict[str, Any]:
        """The columns the inbox and the landing file record."""
        return dict(
            message_sid=self.message_sid,
            to_number=self.to_number,
            from_number=self.from_number,
            body=self.body,
            media=self.media or None,
            received_at=now,
        )
