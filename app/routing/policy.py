"""A team's own escalation policy: its levels and whom each one targets,
read from and written to `Team.escalation_policy` JSON. Pure, like the rest
of `app.routing`: the planner (`app.routing.plan`) turns it into levels."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

TARGET_KINDS = ("assigned", "backup", "rota", "rota_priority", "supervisors", "staff")
TARGETS_WITH_ID = ("rota", "rota_priority", "staff")

_Parsed = TypeVar("_Parsed")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(value: Any, *, name: str) -> None:
    if not is_int(value) or value <= 0:
        raise ValueError(f"{name}: expected a positive whole number of seconds, got {value!r}")


def _each(
    items: Sequence[Any], parse: Callable[[Any], _Parsed], *, where: str
) -> tuple[_Parsed, ...]:
    """Every item parsed; a ValueError names the item's place in the list
    (`targets[0].id: …`)."""
    parsed = []
    for index, item in enumerate(items):
        try:
            parsed.append(parse(item))
        except ValueError as exc:
            raise ValueError(f"{where}[{index}].{exc}") from None
    return tuple(parsed)


@dataclass(frozen=True)
class Target:
    kind: str  # see TARGET_KINDS
    id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise ValueError(f"kind: {self.kind!r} is not one of {', '.join(TARGET_KINDS)}")
        if self.kind in TARGETS_WITH_ID and not is_int(self.id):
            raise ValueError(f"id: a {self.kind!r} target needs an integer id, got {self.id!r}")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        if self.id is not None:
            data["id"] = self.id
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Target:
        if not isinstance(data, Mapping):
            raise ValueError("expected an object with kind (and id)")
        # __post_init__ refuses a kind that is missing or not a string.
        return cls(kind=cast(str, data.get("kind")), id=data.get("id"))


@dataclass(frozen=True)
class PolicyLevel:
    targets: tuple[Target, ...]
    timeout_seconds: int | None = None  # None: the team's default

    def __post_init__(self) -> None:
        # Empty targets are tolerated here (the level resolves to nobody and is
        # dropped, so routing never fails on a stored policy); parse_policy,
        # used to validate a policy before it is stored, refuses them.
        if self.timeout_seconds is not None:
            positive_int(self.timeout_seconds, name="timeout_seconds")

    def to_json(self) -> dict[str, Any]:
        return {
            "targets": [t.to_json() for t in self.targets],
            "timeout_seconds": self.timeout_seconds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PolicyLevel:
        if not isinstance(data, Mapping):
            raise ValueError("expected an object with targets and timeout_seconds")
        targets = data.get("targets")
        if not isinstance(targets, (list, tuple)):
            raise ValueError("targets: expected a list")
        if not targets:
            raise ValueError("targets: a policy level needs at least one target")
        return cls(
            targets=_each(targets, Target.from_json, where="targets"),
            timeout_seconds=data.get("timeout_seconds"),
        )


def parse_policy(data: Sequence[Mapping[str, Any]] | None) -> tuple[PolicyLevel, ...] | None:
    """`Team.escalation_policy` JSON → policy levels; None or [] → None (default plan).

    ValueError names the offending field, e.g. ``escalation_policy[1].targets[0].id: …``,
    so a router can answer 422 with it.
    """
    if data is None:
        return None
    if not isinstance(data, (list, tuple)):
        raise ValueError("escalation_policy: expected a list of levels")
    return _each(data, PolicyLevel.from_json, where="escalation_policy") or None
