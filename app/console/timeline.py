"""A contact's timeline in words, for people (the API gives the raw events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.contacts.models import ContactEvent, EventKind

# What each event kind says; `{who}` is the staff member's name.
PHRASES: dict[str, str] = {
    EventKind.RECEIVED: "Text from the caller",
    EventKind.CALL_RECEIVED: "Call from the caller",
    EventKind.PLANNED: "Route planned",
    EventKind.AUTO_REPLY_SENT: "Automatic reply sent",
    EventKind.AUTO_REPLY_SUPPRESSED: "Automatic reply not sent",
    EventKind.NOTIFIED: "{who} paged",
    EventKind.NOTIFY_SUPPRESSED: "{who} could not be paged",
    EventKind.DIALLED: "{who} called",
    EventKind.SCREENED: "{who} answered the screening",
    EventKind.CALL_ACCEPTED: "{who} accepted the call",
    EventKind.CALL_DECLINED: "{who} declined the call",
    EventKind.CALL_ENDED: "Call ended",
    EventKind.CALLER_HUNG_UP: "The caller hung up",
    EventKind.DIAL_RESULT: "Call leg ended",
    EventKind.ACKNOWLEDGED: "{who} took the contact",
    EventKind.STAFF_REPLY: "{who} replied by SMS",
    EventKind.RELAYED: "{who}'s message relayed to the caller",
    EventKind.PASSED: "{who} passed",
    EventKind.ESCALATED: "Escalated to the next level",
    EventKind.FALLBACK_USED: "Fallback used",
    EventKind.UNANSWERED: "Nobody answered",
    EventKind.DELIVERY_FAILED: "A message could not be delivered",
    EventKind.RESOLVED: "{who} resolved the contact",
    EventKind.RESOLUTION_UPDATED: "{who} completed the outcome",
    EventKind.NOTE: "{who} added a note",
    EventKind.PRIORITY_RAISED: "Marked high priority",
    EventKind.AMBIGUOUS_CALLER: "Number shared by several clients",
    EventKind.OPT_OUT: "The caller texted STOP",
    EventKind.OPT_IN: "The caller texted START",
    EventKind.VOICEMAIL_OFFERED: "Voicemail offered",
    EventKind.VOICEMAIL: "Voicemail left",
    EventKind.VOICEMAIL_FAILED: "Voicemail failed",
    EventKind.FOLLOW_UP_SENT: "Follow-up sent to {who}",
    EventKind.FOLLOW_UP_UNASSIGNED: "Follow-up due, nobody to send it to",
    EventKind.ROUTING_FAILED: "Routing failed: opened with the on-call and supervisors",
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
