"""The rota's vocabulary: frozen, validated on construction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Hashable, Literal

from rotas.errors import EmptyLayerError, InvalidRestrictionError, InvalidTurnError, RotaError
from rotas.walltime import require_aware, zone

UNITS = ("hours", "days", "weeks")


@dataclass(frozen=True)
class Turn:
    unit: Literal["hours", "days", "weeks"]
    length: int

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise InvalidTurnError(f"turn.unit: must be one of {', '.join(UNITS)}")
        if isinstance(self.length, bool) or not isinstance(self.length, int) or self.length < 1:
            raise InvalidTurnError("turn.length: must be a whole number of at least 1")


@dataclass(frozen=True)
class Restriction:
    """A local window opening on each of `days` (0=Mon..6=Sun) at start_minute,
    closing at end_minute; end <= start crosses midnight into the next day."""

    days: frozenset[int]
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", frozenset(self.days))
        if not self.days or any(not isinstance(d, int) or not 0 <= d <= 6 for d in self.days):
            raise InvalidRestrictionError("restriction.days: must be a non-empty set of 0 (Mon) .. 6 (Sun)")
        if not isinstance(self.start_minute, int) or not 0 <= self.start_minute <= 1439:
            raise InvalidRestrictionError("restriction.start: must be 00:00..23:59")
        if not isinstance(self.end_minute, int) or not 1 <= self.end_minute <= 1440:
            raise InvalidRestrictionError("restriction.end: must be 00:01..24:00")
        if self.start_minute == self.end_minute:
            raise InvalidRestrictionError("restriction: start and end are equal (a window of zero length)")

    @property
    def length_minutes(self) -> int:
        return (self.end_minute - self.start_minute) % 1440 or 1440


@dataclass(frozen=True)
class Layer:
    name: str
    turn: Turn
    start: datetime  # naive local wall-clock anchor in the schedule's zone
    participants: tuple[Hashable, ...]
    restrictions: tuple[Restriction, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "participants", tuple(self.participants))
        object.__setattr__(self, "restrictions", tuple(self.restrictions))
        if not self.participants:
            raise EmptyLayerError(f"layer {self.name!r}: participants must not be empty")
        if not isinstance(self.turn, Turn):
            raise InvalidTurnError(f"layer {self.name!r}: turn must be a Turn")
        if not isinstance(self.start, datetime) or self.start.tzinfo is not None:
            raise RotaError(f"layer {self.name!r}: start must be a naive local date-time (the schedule's zone applies)")


@dataclass(frozen=True)
class Override:
    start: datetime
    end: datetime
    person: Hashable
    ref: Hashable | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_aware(self.start, "override.start"))
        object.__setattr__(self, "end", require_aware(self.end, "override.end"))
        if self.end <= self.start:
            raise RotaError("override.end: must be after override.start")


@dataclass(frozen=True)
class Schedule:
    timezone: str
    layers: tuple[Layer, ...]  # later layers are higher and win where they have someone
    overrides: tuple[Override, ...] = field(default=())

    def __post_init__(self) -> None:
        zone(self.timezone)
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "overrides", tuple(self.overrides))


@dataclass(frozen=True)
class Shift:
    start: datetime
    end: datetime
    person: Hashable
    source: str  # "layer:NAME" or "override"


@dataclass(frozen=True)
class OnCall:
    person: Hashable | None
    source: str | None
    until: datetime | None
