"""A rota's layers as stored JSON (and as the API states them), read into the
pure engine's types. Every refusal is a 422 naming the field, e.g.
["body", "layers", 0, "restrictions", 1, "start"]."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import rotas
from app.datetimes import MAX_YEAR, MIN_YEAR
from app.errors import Invalid

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


Loc = tuple  # where a value sits in the request, e.g. ("body", "layers", 0)


# The engine's field names where the API calls them something else.
_API_NAMES = {"start_minute": "start", "end_minute": "end"}


def _engine_error(exc: rotas.RotaError, loc: Loc, prefix: str) -> Invalid:
    """The engine says "turn.length: why"; turn that into loc [..., "turn", "length"]."""
    field, sep, reason = str(exc).partition(": ")
    if not sep:
        return Invalid(list(loc), str(exc))
    parts = field.split(".")
    if parts and parts[0] == prefix:
        parts = parts[1:]
    return Invalid([*loc, *(_API_NAMES.get(p, p) for p in parts)], reason)


def _minutes(value: object, loc: Loc) -> int:
    try:
        hours_text, minutes_text = str(value).split(":")
        hours, minutes = int(hours_text), int(minutes_text)
    except ValueError:
        raise Invalid(list(loc), "must be HH:MM") from None
    if not (0 <= minutes < 60 and 0 <= hours * 60 + minutes <= 1440):
        raise Invalid(list(loc), "must be between 00:00 and 24:00")
    return hours * 60 + minutes


def restriction_from_json(data: dict, loc: Loc = ("restriction",)) -> rotas.Restriction:
    days = set()
    for k, day in enumerate(data.get("days") or ()):
        name = str(day).lower()[:3]
        if name not in DAY_NAMES:
            raise Invalid([*loc, "days", k], "use mon, tue, wed, thu, fri, sat, sun")
        days.add(DAY_NAMES.index(name))
    start = _minutes(data.get("start"), (*loc, "start"))
    end = _minutes(data.get("end"), (*loc, "end"))
    try:
        return rotas.Restriction(frozenset(days), start, end)
    except rotas.RotaError as exc:
        raise _engine_error(exc, loc, "restriction") from None


def local_anchor(value: object, loc: Loc) -> datetime:
    try:
        start = datetime.fromisoformat(str(value))
    except ValueError:
        raise Invalid(list(loc), "must be a local date-time YYYY-MM-DDTHH:MM") from None
    if start.tzinfo is not None:
        raise Invalid(
            list(loc), "must be local time without an offset (the rota's time zone applies)"
        )
    if not MIN_YEAR <= start.year <= MAX_YEAR:
        raise Invalid(list(loc), f"must be between {MIN_YEAR} and {MAX_YEAR}")
    return start


def layer_from_json(data: dict, loc: Loc = ("layer",)) -> rotas.Layer:
    turn = data.get("turn") or {}
    # rotas.Turn refuses a unit or length that is missing or of the wrong type.
    unit: Any = turn.get("unit")
    length: Any = turn.get("length")
    try:
        engine_turn = rotas.Turn(unit, length)
    except rotas.RotaError as exc:
        raise _engine_error(exc, loc, "") from None
    restrictions = tuple(
        restriction_from_json(r, (*loc, "restrictions", j))
        for j, r in enumerate(data.get("restrictions") or ())
    )
    try:
        return rotas.Layer(
            name=str(data.get("name") or "layer"),
            turn=engine_turn,
            start=local_anchor(data.get("start"), (*loc, "start")),
            participants=tuple(data.get("participants") or ()),
            restrictions=restrictions,
        )
    except rotas.EmptyLayerError:
        raise Invalid([*loc, "participants"], "a layer needs at least one participant") from None
    except rotas.RotaError as exc:
        raise Invalid(list(loc), str(exc)) from None


def zone_checked(timezone: str, loc: Loc) -> str:
    try:
        rotas.Schedule(timezone=timezone, layers=())
    except rotas.RotaError as exc:
        raise Invalid(list(loc), str(exc).partition(": ")[2] or str(exc)) from None
    return timezone
