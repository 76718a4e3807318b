"""The rota's vocabulary: frozen, validated on construction so a bad rota can
never be built (a rota that fails at 3 a.m. routes a client to nobody)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from rotas.errors import (
    EmptyLayerError,
    InvalidLayerError,
    InvalidOverrideError,
    InvalidRestrictionError,
    InvalidTurnError,
    RotaError,
    UnknownTimeZoneError,
)
from rotas.walltime import require_aware, require_supported_year, zone

UNITS = ("hours", "days", "weeks")
# A turn longer than about ten years is a data-entry error, not a rota.
LONGEST_TURN = {"hours": 24 * 3660, "days": 3660, "weeks": 523}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require_person(value: Any, field_name: str, error: type[Exception]) -> None:
    # None means "nobody" in OnCall, so it cannot also be a person.
    if value is None:
        raise error(f"{field_name}: must name a person, got None")
    try:
        hash(value)
    except TypeError:
        raise error(f"{field_name}: must be hashable, got {type(value).__name__}") from None


@dataclass(frozen=True)
class Turn:
    unit: Literal["hours", "days", "weeks"]
    length: int

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise InvalidTurnError(
                f"turn.unit: must be one of {', '.join(UNITS)}, got {self.unit!r}"
            )
        if not _is_int(self.length) or self.length < 1:
            raise InvalidTurnError(f"turn.length: must be a whole number >= 1, got {self.length!r}")
        if self.length > LONGEST_TURN[self.unit]:
            raise InvalidTurnError(
                f"turn.length: at most {LONGEST_TURN[self.unit]} {self.unit}, got {self.length}"
            )


@dataclass(frozen=True)
class Restriction:
    """A local window opening on each of `days` (0=Mon..6=Sun) at start_minute
    and closing at end_minute; end <= start crosses midnight into the next day."""

    days: frozenset[int]
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        try:
            days = frozenset(self.days)
        except TypeError:
            raise InvalidRestrictionError(
                f"restriction.days: must be a set of 0..6, got {self.days!r}"
            ) from None
        object.__setattr__(self, "days", days)
        if not days or any(not _is_int(d) or not 0 <= d <= 6 for d in days):
            raise InvalidRestrictionError(
                f"restriction.days: must be a non-empty set of 0 (Mon)..6 (Sun), got {sorted(days, key=repr)}"
            )
        if not _is_int(self.start_minute) or not 0 <= self.start_minute <= 1439:
            raise InvalidRestrictionError(
                f"restriction.start_minute: must be 0..1439, got {self.start_minute!r}"
            )
        if not _is_int(self.end_minute) or not 1 <= self.end_minute <= 1440:
            raise InvalidRestrictionError(
                f"restriction.end_minute: must be 1..1440, got {self.end_minute!r}"
            )
        if self.start_minute == self.end_minute:
            raise InvalidRestrictionError(
                "restriction.end_minute: equals start_minute (a window of zero length)"
            )

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
        if not isinstance(self.name, str) or not self.name:
            raise InvalidLayerError(f"layer.name: must be a non-empty string, got {self.name!r}")
        label = f"layer {self.name!r}"
        if not isinstance(self.turn, Turn):
            raise InvalidTurnError(f"{label}.turn: must be a Turn, got {type(self.turn).__name__}")
        if not isinstance(self.start, datetime):
            raise InvalidLayerError(
                f"{label}.start: must be a naive local datetime, got {type(self.start).__name__}"
            )
        if self.start.tzinfo is not None:
            raise InvalidLayerError(
                f"{label}.start: must be naive local wall-clock time (the schedule's zone applies)"
            )
        try:
            require_supported_year(self.start, f"{label}.start")
        except RotaError as error:
            raise InvalidLayerError(str(error)) from None
        if isinstance(self.participants, (str, bytes)):
            raise InvalidLayerError(
                f"{label}.participants: must be a tuple of people, not a string"
            )
        object.__setattr__(self, "participants", tuple(self.participants))
        object.__setattr__(self, "restrictions", tuple(self.restrictions))
        if not self.participants:
            raise EmptyLayerError(f"{label}.participants: must not be empty")
        for index, person in enumerate(self.participants):
            _require_person(person, f"{label}.participants[{index}]", InvalidLayerError)
        for index, restriction in enumerate(self.restrictions):
            if not isinstance(restriction, Restriction):
                raise InvalidRestrictionError(
                    f"{label}.restrictions[{index}]: must be a Restriction"
                )


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
            raise InvalidOverrideError(
                f"override.end: must be after override.start ({self.start} .. {self.end})"
            )
        _require_person(self.person, "override.person", InvalidOverrideError)


@dataclass(frozen=True)
class Schedule:
    timezone: str
    layers: tuple[Layer, ...]  # later layers are higher and win where they have someone
    overrides: tuple[Override, ...] = ()
    # Derived once so each query costs only what is near its instant. Not part of equality.
    _by_start: tuple[tuple[datetime, int, Override], ...] = field(
        init=False, repr=False, compare=False
    )
    _longest_override: timedelta = field(init=False, repr=False, compare=False)
    _memo: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.timezone, str):
            raise UnknownTimeZoneError(
                f"timezone: must be an IANA zone name, got {type(self.timezone).__name__}"
            )
        zone(self.timezone)
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "overrides", tuple(self.overrides))
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise InvalidLayerError(
                    f"layers[{index}]: must be a Layer, got {type(layer).__name__}"
                )
        for index, override in enumerate(self.overrides):
            if not isinstance(override, Override):
                raise InvalidOverrideError(
                    f"overrides[{index}]: must be an Override, got {type(override).__name__}"
                )
        # (start, position) is also the precedence: later start wins, then later in the tuple.
        by_start = tuple(
            sorted(
                ((o.start, i, o) for i, o in enumerate(self.overrides)), key=lambda e: (e[0], e[1])
            )
        )
        object.__setattr__(self, "_by_start", by_start)
        object.__setattr__(
            self,
            "_longest_override",
            max((o.end - o.start for o in self.overrides), default=timedelta(0)),
        )
        object.__setattr__(self, "_memo", {})


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
