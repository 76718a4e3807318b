"""Per-person notification rules: pure decisions, no I/O.

A staff member's rules say how they are woken when a level pages them:
ordered `{"channel": "sms" | "call", "after_seconds": n}`, by default a text
at once and a call a minute later (a phone on silent still rings for a call).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SMS = "sms"
CALL = "call"
CHANNELS = (SMS, CALL)
MAX_AFTER_SECONDS = 600

DEFAULT_RULES: list[dict[str, Any]] = [
    {"channel": SMS, "after_seconds": 0},
    {"channel": CALL, "after_seconds": 60},
]


@dataclass(frozen=True, order=True)
class Rule:
    after_seconds: int
    channel: str

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "after_seconds": self.after_seconds}


def parse(rules: Iterable[Mapping[str, Any]] | None) -> tuple[Rule, ...]:
    """Stored rules as values, in firing order (stored rules were validated)."""
    if not rules:
        return tuple(Rule(r["after_seconds"], r["channel"]) for r in DEFAULT_RULES)
    return tuple(sorted(Rule(int(r["after_seconds"]), str(r["channel"])) for r in rules))


def validate(
    rules: list[Mapping[str, Any]], *, ack_timeout_seconds: int, field: str = "notify_rules"
) -> list[dict[str, Any]]:
    """Rules as stored, or ValueError("<location>: <why>") naming the rule at fault.
    `after_seconds` must fall before the level's acknowledgement timeout: a rule
    due later never fires, since the contact has moved on by then."""
    if not rules:
        raise ValueError(f"{field}: at least one rule is needed (e.g. an SMS at 0 seconds)")
    seen: set[tuple[str, int]] = set()
    cleaned = []
    for index, rule in enumerate(rules):
        where = f"{field}[{index}]"
        channel, after = rule.get("channel"), rule.get("after_seconds")
        if channel not in CHANNELS:
            raise ValueError(f"{where}.channel: must be 'sms' or 'call'")
        if isinstance(after, bool) or not isinstance(after, int):
            raise ValueError(f"{where}.after_seconds: must be a whole number of seconds")
        if not 0 <= after <= MAX_AFTER_SECONDS:
            raise ValueError(f"{where}.after_seconds: must be between 0 and {MAX_AFTER_SECONDS}")
        if after >= ack_timeout_seconds:
            raise ValueError(
                f"{where}.after_seconds: must be below the team's acknowledgement timeout "
                f"({ack_timeout_seconds} s), or it would never fire"
            )
        if (channel, after) in seen:
            raise ValueError(f"{where}: the same rule appears twice")
        seen.add((channel, after))
        cleaned.append({"channel": channel, "after_seconds": after})
    return sorted(cleaned, key=lambda r: (r["after_seconds"], r["channel"]))


def has_call(rules: Iterable[Mapping[str, Any]] | None) -> bool:
    return any(rule.channel == CALL for rule in parse(rules))


def effective(
    rules: Iterable[Mapping[str, Any]] | None,
    *,
    sms_ok: bool,
    minimum: Iterable[Mapping[str, Any]] | None = None,
) -> tuple[Rule, ...]:
    """What actually fires for one person on one page.

    - The team's minimum (e.g. a call at 0 s for priority contacts) is added
      where the person's own rules are later or lack that channel.
    - SMS rules of a person who opted out of SMS are dropped; their call rules
      stay, and someone left with nothing is called at once.
    """
    own = list(parse(rules))
    for floor in parse(minimum) if minimum else ():
        same = [r for r in own if r.channel == floor.channel]
        if not same or min(r.after_seconds for r in same) > floor.after_seconds:
            own.append(floor)
    if not sms_ok:
        own = [r for r in own if r.channel != SMS] or [Rule(0, CALL)]
    return tuple(sorted(set(own)))


def reachable(rules: Iterable[Mapping[str, Any]] | None, *, sms_ok: bool) -> bool:
    """A person can be woken: texts reach them, or they have a call rule."""
    return sms_ok or has_call(rules)
