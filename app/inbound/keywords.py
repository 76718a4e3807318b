"""Carrier keywords and staff commands, parsed purely from a message body."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# Twilio's default lists (a Messaging Service's Advanced Opt-Out may change
# them: the settings OPT_OUT_WORDS / OPT_IN_WORDS say what the line uses).
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})
STAFF_COMMANDS = frozenset({"ACK", "PASS", "DONE", "WHO", "HELP", "KEEP"})

# A contact reference longer than this cannot be a contact id (ids are
# 32-bit integers); it is answered "no contact" without touching the database.
MAX_REF_DIGITS = 10
MAX_CONTACT_ID = 2**31 - 1

_ADDRESSED = re.compile(r"^\s*#(\d+)\b[\s:,-]*(.*)$", re.DOTALL)


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


def keyword(
    body: str, *, opt_out: frozenset[str] = OPT_OUT, opt_in: frozenset[str] = OPT_IN
) -> Keyword | None:
    """The carrier keyword a message is, if it is one: only a single word
    counts. Being a keyword changes consent state at most; the message is
    still a message someone in the conversation must see."""
    word = body.strip().strip(".!").upper()
    if word in opt_out:
        return Keyword.OPT_OUT
    if word in opt_in:
        return Keyword.OPT_IN
    if word in HELP:
        return Keyword.HELP
    return None


@dataclass(frozen=True)
class StaffReply:
    contact_id: int | None  # from a leading "#12"
    command: str | None  # ACK / PASS / DONE / WHO / HELP
    text: str  # what to relay (empty for a bare command)
    # "#<digits>" that cannot be a contact id (too long): shown back shortened
    bad_ref: str | None = None


def parse_staff_reply(body: str) -> StaffReply:
    contact_id = None
    bad_ref = None
    rest = body.strip()
    match = _ADDRESSED.match(rest)
    if match:
        digits, rest = match.group(1), match.group(2).strip()
        # int() of thousands of digits is slow (and refused past 4,300): check the length first.
        if len(digits) <= MAX_REF_DIGITS and int(digits) <= MAX_CONTACT_ID:
            contact_id = int(digits)
        else:
            bad_ref = digits[:12] + ("..." if len(digits) > 12 else "")
    word = rest.strip(".!").upper()
    if word in STAFF_COMMANDS:
        return StaffReply(contact_id=contact_id, command=word, text="", bad_ref=bad_ref)
    return StaffReply(contact_id=contact_id, command=None, text=rest, bad_ref=bad_ref)


def has_priority_words(body: str, words: list[str]) -> bool:
    """Whole-word, case-insensitive. Only ever raises priority: a miss still
    reaches a human on the normal clock."""
    lowered = body.lower()
    for word in words:
        word = word.strip().lower()
        if word and re.search(r"(?<!\w)" + re.escape(word) + r"(?!\w)", lowered):
            return True
    return False
