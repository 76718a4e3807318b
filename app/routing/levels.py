"""What a route plan is: its levels, the levels left out, and the JSON they
are stored as in `Contact.plan`. The escalation engine reads a stored plan
through these without the planner (`app.routing.plan`) that makes one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.routing.policy import is_int

LEVEL_KINDS = ("assigned", "backup", "rota", "supervisors", "policy", "fallback")

FALLBACK_LABEL = "external fallback"


@dataclass(frozen=True)
class Level:
    number: int  # 1-based, consecutive
    kind: str  # see LEVEL_KINDS
    staff_ids: tuple[int, ...]  # who is notified (empty only for the fallback)
    timeout_seconds: int  # time to acknowledge before the next level (fallback: 0)
    label: str
    rota_id: int | None = None
    number_to_dial: str | None = None  # fallback only
    copy_staff_ids: tuple[int, ...] = ()  # told as well, never among staff_ids

    def __post_init__(self) -> None:
        if not is_int(self.number) or self.number < 1:
            raise ValueError(f"level: expected a number >= 1, got {self.number!r}")
        if self.kind not in LEVEL_KINDS:
            raise ValueError(f"kind: {self.kind!r} is not one of {', '.join(LEVEL_KINDS)}")
        if len(set(self.staff_ids)) != len(self.staff_ids):
            raise ValueError("staff_ids: a person appears twice")
        if set(self.copy_staff_ids) & set(self.staff_ids):
            raise ValueError("copy_staff_ids: must not repeat staff_ids")
        if (self.kind == "fallback") != (not self.staff_ids):
            raise ValueError("staff_ids: empty for the fallback level and only for it")

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.number,
            "kind": self.kind,
            "staff_ids": list(self.staff_ids),
            "timeout_seconds": self.timeout_seconds,
            "label": self.label,
            "rota_id": self.rota_id,
            "number_to_dial": self.number_to_dial,
            "copy_staff_ids": list(self.copy_staff_ids),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Level:
        return cls(
            number=data["level"],
            kind=data["kind"],
            staff_ids=tuple(data.get("staff_ids") or ()),
            timeout_seconds=data["timeout_seconds"],
            label=data["label"],
            rota_id=data.get("rota_id"),
            number_to_dial=data.get("number_to_dial"),
            copy_staff_ids=tuple(data.get("copy_staff_ids") or ()),
        )


@dataclass(frozen=True)
class SkippedLevel:
    """A level left out because everyone on it is unreachable now (not
    because they were already tried): recorded on the contact's timeline."""

    kind: str
    label: str
    unreachable: tuple[tuple[int, str], ...]  # (staff id, reason)


class Plan(tuple[Level, ...]):
    """The levels (a tuple of `Level`), with the levels left out because
    nobody on them could be reached (`skipped`)."""

    skipped: tuple[SkippedLevel, ...] = ()

    def __new__(cls, levels: Iterable[Level], skipped: Iterable[SkippedLevel] = ()) -> Plan:
        made = super().__new__(cls, levels)
        made.skipped = tuple(skipped)
        return made


def plan_to_json(levels: Iterable[Level]) -> list[dict[str, Any]]:
    return [level.to_json() for level in levels]


def plan_from_json(data: Iterable[Mapping[str, Any]]) -> tuple[Level, ...]:
    return tuple(Level.from_json(item) for item in data)


def fallback_level(number: int, fallback_number: str) -> Level:
    return Level(
        number=number,
        kind="fallback",
        staff_ids=(),
        timeout_seconds=0,
        label=FALLBACK_LABEL,
        number_to_dial=fallback_number,
    )


def fallback_plan(fallback_number: str) -> tuple[Level, ...]:
    """A plan of the external fallback alone: what to store if building the
    context failed (bad stored data), so a contact is never left unrouted."""
    return (fallback_level(1, fallback_number),)
