"""Carrier keywords and staff commands, parsed purely from a message body."""

from __future__ import annotations

import re
from dataclasses import dataclass

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})
STAFF_COMMANDS = frozenset({"ACK", "PASS", "DONE", "WHO", "HELP", "KEEP"})

_ADDRESSED = re.compile(r"^\s*#(\d+)\b[\s:,-]*(.*)$", re.DOTALL)


def keyword(body: str) -> str | None:
    """The carrier keyword a message is, if it is one: only a single word counts."""
    word = body.strip().strip(".!").upper()
    if word in OPT_OUT:
        return "opt_out"
    if word in OPT_IN:
        return "opt_in"
    if word in HELP:
        return "help"
    return None


@dataclass(frozen=True)
class StaffReply:
    contact_id: int | None  # from a leading "#12"
    command: str | None  # ACK / PASS / DONE / WHO / HELP
    text: str  # what to relay (empty for a bare command)


def parse_staff_reply(body: str) -> StaffReply:
    contact_id = None
    rest = body.strip()
    match = _ADDRESSED.match(rest)
    if match:
        contact_id, rest = int(match.group(1)), match.group(2).strip()
    word = rest.strip(".!").upper()
    if word in STAFF_COMMANDS:
        return StaffReply(contact_id=contact_id, command=word, text="")
    return StaffReply(contact_id=contact_id, command=None, text=rest)


def has_priority_words(body: str, words: list[str]) -> bool:
    """Whole-word, case-insensitive. Only ever raises priority: a miss still
    reaches a human on the normal clock."""
    lowered = body.lower()
    for word in words:
        word = word.strip().lower()
        if word and re.search(r"(?<!\w)" + re.escape(word) + r"(?!\w)", lowered):
            return True
    return False
