"""A contact's timeline in words, for people (the API gives the raw events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.contacts.models import ContactEvent

# What each event kind says; `{who}` is the staff member's name.
PHRASES = {
    "received": "Text from the caller",
    "call_received": "Call from the caller",
    "planned": "Route planned",
    "auto_reply_sent": "Automatic reply sent",
    "auto_reply_suppressed": "Automatic reply not sent",
    "notified": "{who} paged",
    "notify_suppressed": "{who} could not be paged",
    "dialled": "{who} called",
    "screened": "{who} answered the screening",
    "call_accepted": "{who} accepted the call",
    "call_declined": "{who} declined the call",
    "call_ended": "Call ended",
    "caller_hung_up": "The caller hung up",
    "dial_result": "Call leg ended",
    "acknowledged": "{who} took the contact",
    "staff_reply": "{who} replied by SMS",
    "relayed": "{who}'s message relayed to the caller",
    "passed": "{who} passed",
    "escalated": "Escalated to the next level",
    "fallback_used": "Fallback used",
    "unanswered": "Nobody answered",
    "delivery_failed": "A message could not be delivered",
    "resolved": "{who} resolved the contact",
    "resolution_updated": "{who} completed the outcome",
    "note": "{who} added a note",
    "priority_raised": "Marked high priority",
    "ambiguous_caller": "Number shared by several clients",
    "opt_out": "The caller texted STOP",
    "opt_in": "The caller texted START",
    "voicemail_offered": "Voicemail offered",
    "voicemail": "Voicemail left",
    "voicemail_failed": "Voicemail failed",
    "follow_up_sent": "Follow-up sent to {who}",
    "follow_up_unassigned": "Follow-up due, nobody to send it to",
    "routing_failed": "Routing failed: opened with the on-call and supervisors",
}
# Data shown with an event (never message bodies: those are in the conversation).
SHOWN = ("reason", "via", "outcome", "risk_level", "text", "dial_status", "error_code")


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    text: str
    level: int | None
    details: list[tuple[str, str]]


def describe(events: list[ContactEvent], names: dict[int, str]) -> list[TimelineEntry]:
    entries = []
    for event in events:
        who = names.get(event.staff_id, "Someone") if event.staff_id else "Someone"
        phrase = PHRASES.get(event.kind, event.kind.replace("_", " ").capitalize())
        details = [
            (key.replace("_", " "), str(event.data[key]))
            for key in SHOWN
            if event.data.get(key) not in (None, "")
        ]
        entries.append(
            TimelineEntry(
                at=event.at,
                kind=event.kind,
                text=phrase.format(who=who),
                level=event.level,
                details=details,
            )
        )
    return entries
