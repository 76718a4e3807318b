"""Rotas as stored rows, turned into the pure engine's types, and who is on call.

`schedule_for` is the one place that converts rows to `rotas` types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

import rotas
from app.oncall.models import Rota, RotaOverride

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(value: str, field: str) -> int:
    try:
        hours, minutes = value.split(":")
        total = int(hours) * 60 + int(minutes)
    except (AttributeError, ValueError):
        raise rotas.InvalidRestrictionError(f"{field}: must be HH:MM") from None
    if not (0 <= int(minutes) < 60 and 0 <= total <= 1440):
        raise rotas.InvalidRestrictionError(f"{field}: must be between 00:00 and 24:00")
    return total


def restriction_from_json(data: dict, field: str = "restriction") -> rotas.Restriction:
    days = data.get("days") or []
    try:
        day_numbers = frozenset(DAY_NAMES.index(str(d).lower()[:3]) for d in days)
    except ValueError:
        raise rotas.InvalidRestrictionError(f"{field}.days: use mon, tue, wed, thu, fri, sat, sun") from None
    return rotas.Restriction(day_numbers, _minutes(data.get("start"), f"{field}.start"),
                             _minutes(data.get("end"), f"{field}.end"))


def layer_from_json(data: dict, field: str = "layer") -> rotas.Layer:
    turn = data.get("turn") or {}
    try:
        start = datetime.fromisoformat(str(data.get("start")))
    except ValueError:
        raise rotas.RotaError(f"{field}.start: must be a local date-time YYYY-MM-DDTHH:MM") from None
    if start.tzinfo is not None:
        raise rotas.RotaError(f"{field}.start: must be local time without an offset (the rota's zone applies)")
    return rotas.Layer(
        name=str(data.get("name") or "layer"),
        turn=rotas.Turn(turn.get("unit"), turn.get("length")),
        start=start,
        participants=tuple(data.get("participants") or ()),
        restrictions=tuple(restriction_from_json(r, f"{field}.restrictions[{i}]")
                           for i, r in enumerate(data.get("restrictions") or ())),
    )


def schedule_for(rota: Rota, overrides: list[RotaOverride] | tuple = ()) -> rotas.Schedule:
    return rotas.Schedule(
        timezone=rota.timezone,
        layers=tuple(layer_from_json(layer, f"layers[{i}]") for i, layer in enumerate(rota.layers)),
        overrides=tuple(rotas.Override(o.start, o.end, o.staff_id, ref=o.id) for o in overrides),
    )


def overrides_between(*, session: Session, rota_id: int, start: datetime, end: datetime) -> list[RotaOverride]:
    return list(session.execute(
        select(RotaOverride).where(RotaOverride.rota_id == rota_id, RotaOverride.end > start,
                                   RotaOverride.start < end).order_by(RotaOverride.start, RotaOverride.id)
    ).scalars())


@dataclass(frozen=True)
class RotaOnCall:
    rota_id: int
    rota_name: str
    priority: int
    staff_id: int | None
    source: str | None
    until: datetime | None


# on_call looks ahead up to a year for "until"; overrides beyond that cannot matter.
_LOOKAHEAD = timedelta(days=400)


def rota_on_call(*, session: Session, rota: Rota, at: datetime) -> RotaOnCall:
    overrides = overrides_between(session=session, rota_id=rota.id, start=at, end=at + _LOOKAHEAD)
    result = rotas.on_call(schedule_for(rota, overrides), at)
    return RotaOnCall(rota.id, rota.name, rota.priority, result.person, result.source, result.until)


def oncall_snapshot(*, session: Session, team_id: int, at: datetime) -> list[RotaOnCall]:
    """Who each of the team's rotas has on call at `at`, in priority order."""
    team_rotas = session.execute(
        select(Rota).where(Rota.team_id == team_id).order_by(Rota.priority, Rota.id)
    ).scalars()
    return [rota_on_call(session=session, rota=rota, at=at) for rota in team_rotas]


# ---------------------------------------------------------------- writes

GAP_HORIZON = timedelta(days=14)


def _field_error(exc: rotas.RotaError, prefix: list) -> "Invalid":
    from app.errors import Invalid

    message = str(exc)
    field, _, reason = message.partition(": ")
    return Invalid(["body", *prefix, field] if reason else ["body", *prefix], reason or message)


def build_schedule(*, session: Session, team_id: int, data: dict, overrides=()) -> rotas.Schedule:
    """Validate a rota body (as the API states it) into an engine schedule.
    Every participant must be an active staff member of the team."""
    from app.errors import Invalid
    from app.teams.models import Staff

    try:
        rotas.Schedule(timezone=data["timezone"], layers=())
    except rotas.RotaError as exc:
        raise Invalid(["body", "timezone"], str(exc).partition(": ")[2] or str(exc)) from None
    ids = {p for layer in data["layers"] for p in layer["participants"]}
    active = set(session.execute(select(Staff.id).where(
        Staff.id.in_(ids), Staff.team_id == team_id, Staff.active.is_(True))).scalars()) if ids else set()
    for i, layer in enumerate(data["layers"]):
        for j, person in enumerate(layer["participants"]):
            if person not in active:
                raise Invalid(["body", "layers", i, "participants", j], f"staff {person} is not an active member of this team")
    layers = []
    for i, layer in enumerate(data["layers"]):
        try:
            layers.append(layer_from_json(layer, "layer"))
        except rotas.RotaError as exc:
            raise _field_error(exc, ["layers", i]) from None
    return rotas.Schedule(timezone=data["timezone"], layers=tuple(layers), overrides=tuple(overrides))


def primary_gaps(*, schedule: rotas.Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return rotas.gaps(schedule, start, end)


def team_coverage_gaps(*, session: Session, team_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime, int | None]]:
    """Holes in the team's primary (priority 1) rota; no primary rota is one hole."""
    primary = session.execute(
        select(Rota).where(Rota.team_id == team_id, Rota.priority == 1).order_by(Rota.id)
    ).scalars().first()
    if primary is None:
        return [(start, end, None)] if start < end else []
    overrides = overrides_between(session=session, rota_id=primary.id, start=start, end=end)
    return [(a, b, primary.id) for a, b in rotas.gaps(schedule_for(primary, overrides), start, end)]
