"""Rotas as stored rows, turned into the pure engine's types, and who is on call.

`schedule_for` is the one place that converts rows to `rotas` types (a
layer's JSON is read in `app.oncall.layers`); the API validates a body through
the same converters (`build_schedule`), so what is stored is exactly what the
engine accepted. Reading rotas, changing them and the calendar tokens stay in
this one module: the API and the console both call all three here.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

import rotas
from app.auth.service import Principal, audit_row
from app.datetimes import MAX_YEAR, MIN_YEAR
from app.errors import Conflict, Invalid
from app.oncall.layers import DAY_NAMES as DAY_NAMES  # the console reads them here
from app.oncall.layers import layer_from_json, zone_checked
from app.oncall.models import Rota, RotaOverride
from app.oncall.schemas import RotaIn
from app.settings import Settings
from app.teams.models import Staff, Team

GAP_HORIZON = timedelta(days=14)


def schedule_for(rota: Rota, overrides: Sequence[RotaOverride] = ()) -> rotas.Schedule:
    """A stored rota and (some of) its overrides as the engine's Schedule."""
    return rotas.Schedule(
        timezone=rota.timezone,
        layers=tuple(layer_from_json(layer, ("layers", i)) for i, layer in enumerate(rota.layers)),
        overrides=tuple(rotas.Override(o.start, o.end, o.staff_id, ref=o.id) for o in overrides),
    )


def build_schedule(
    *, session: Session, team_id: int, data: dict, overrides: Sequence[RotaOverride] = ()
) -> rotas.Schedule:
    """Validate a rota body (as the API states it) into an engine schedule,
    raising a 422 that names the field. Every participant must be an active
    staff member of the team."""
    timezone = zone_checked(data["timezone"], ("body", "timezone"))
    layers = [
        layer_from_json(layer, ("body", "layers", i)) for i, layer in enumerate(data["layers"])
    ]
    ids = {p for layer in layers for p in layer.participants}
    active = (
        set(
            session.execute(
                select(col(Staff.id)).where(
                    col(Staff.id).in_(ids),
                    col(Staff.team_id) == team_id,
                    col(Staff.active).is_(True),
                )
            ).scalars()
        )
        if ids
        else set()
    )
    for i, layer in enumerate(layers):
        for j, person in enumerate(layer.participants):
            if person not in active:
                raise Invalid(
                    ["body", "layers", i, "participants", j],
                    f"staff {person} is not an active member of this team",
                )
    return rotas.Schedule(
        timezone=timezone,
        layers=tuple(layers),
        overrides=tuple(rotas.Override(o.start, o.end, o.staff_id, ref=o.id) for o in overrides),
    )


def overrides_between(
    *, session: Session, rota_id: int, start: datetime, end: datetime
) -> list[RotaOverride]:
    """The rota's overrides overlapping [start, end) (RotaOverride.end is indexed)."""
    return list(
        session.execute(
            select(RotaOverride)
            .where(
                col(RotaOverride.rota_id) == rota_id,
                col(RotaOverride.end) > start,
                col(RotaOverride.start) < end,
            )
            .order_by(col(RotaOverride.start), col(RotaOverride.id))
        ).scalars()
    )


@dataclass(frozen=True)
class RotaOnCall:
    rota_id: int
    rota_name: str
    priority: int
    staff_id: int | None
    source: str | None
    until: datetime | None


# Windows of overrides to load for one on-call answer, shortest first. An
# answer whose `until` falls inside the loaded window is exact: an override
# starting later cannot change anything before it. The last is the engine's
# own look-ahead horizon.
_OVERRIDE_WINDOWS = (timedelta(days=16), timedelta(days=400))


def rota_on_call(*, session: Session, rota: Rota, at: datetime) -> RotaOnCall:
    """Who `rota` has on call at `at` and until when. Costs O(layers +
    overrides near `at`), whatever the age of the rota or of its overrides."""
    for window in _OVERRIDE_WINDOWS:
        overrides = overrides_between(session=session, rota_id=rota.id, start=at, end=at + window)
        result = rotas.on_call(schedule_for(rota, overrides), at)
        if result.until is not None and result.until < at + window:
            break
    # The app's rotas list staff ids as their people.
    staff_id = cast(int | None, result.person)
    return RotaOnCall(rota.id, rota.name, rota.priority, staff_id, result.source, result.until)


def team_rotas(*, session: Session, team_id: int) -> list[Rota]:
    """The team's rotas in priority order (1 primary, 2 backup, …)."""
    return list(
        session.execute(
            select(Rota)
            .where(col(Rota.team_id) == team_id)
            .order_by(col(Rota.priority), col(Rota.id))
        ).scalars()
    )


def oncall_snapshot(*, session: Session, team_id: int, at: datetime) -> list[RotaOnCall]:
    """Who each of the team's rotas has on call at `at`, in priority order."""
    return [
        rota_on_call(session=session, rota=rota, at=at)
        for rota in team_rotas(session=session, team_id=team_id)
    ]


def primary_rota(*, session: Session, team_id: int) -> Rota | None:
    return (
        session.execute(
            select(Rota)
            .where(col(Rota.team_id) == team_id, col(Rota.priority) == 1)
            .order_by(col(Rota.id))
        )
        .scalars()
        .first()
    )


def team_coverage_gaps(
    *, session: Session, team_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, int | None]]:
    """Holes in the team's primary (priority 1) rota as (start, end, rota_id);
    no primary rota is one hole with rota_id None."""
    primary = primary_rota(session=session, team_id=team_id)
    if primary is None:
        return [(start, end, None)] if start < end else []
    overrides = overrides_between(session=session, rota_id=primary.id, start=start, end=end)
    return [(a, b, primary.id) for a, b in rotas.gaps(schedule_for(primary, overrides), start, end)]


def shifts(
    *, session: Session, rota: Rota, start: datetime, end: datetime, staff_id: int | None = None
) -> list[rotas.Shift]:
    """The rota's final schedule over [start, end), or one person's part of it."""
    schedule = schedule_for(
        rota, overrides_between(session=session, rota_id=rota.id, start=start, end=end)
    )
    if staff_id is None:
        return rotas.final_schedule(schedule, start, end)
    return rotas.shifts_for(schedule, staff_id, start, end)


def policy_levels_naming(team: Team, rota_id: int) -> list[int]:
    """The levels (0-based) of the team's escalation policy that target this rota by id."""
    return [
        i
        for i, level in enumerate(team.escalation_policy or [])
        if any(
            t.get("kind") == "rota" and t.get("id") == rota_id for t in level.get("targets") or []
        )
    ]


def delete_rota(*, session: Session, rota: Rota) -> None:
    """The rota and its overrides (overrides first: they hold the foreign key)."""
    session.execute(delete(RotaOverride).where(col(RotaOverride.rota_id) == rota.id))
    session.delete(rota)
    session.flush()


def add_override(
    *,
    session: Session,
    principal: Principal,
    rota: Rota,
    staff_id: int,
    start: datetime,
    end: datetime,
    reason: str | None,
) -> RotaOverride:
    """Someone covers `rota` over [start, end) (checked and audited); the
    caller commits."""
    for name, value in (("start", start), ("end", end)):
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise Invalid(["body", name], f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    if end <= start:
        raise Invalid(["body", "end"], "must be after start")
    staff = session.get(Staff, staff_id)
    if staff is None or staff.team_id != rota.team_id or not staff.active:
        raise Invalid(["body", "staff_id"], "is not an active member of this rota's team")
    override = RotaOverride(rota_id=rota.id, staff_id=staff_id, start=start, end=end, reason=reason)
    session.add(override)
    session.flush()
    audit_row(session, principal, "rota_override.create", override, team_id=rota.team_id)
    return override


def rota_gaps(
    *, session: Session, rota: Rota, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Where `rota` has nobody on call over [start, end), overrides included."""
    schedule = schedule_for(
        rota, overrides_between(session=session, rota_id=rota.id, start=start, end=end)
    )
    return rotas.gaps(schedule, start, end)


# ------------------------------------------------------- changing a rota
# The API and the console change rotas through these, so both refuse the
# same things with the same words.


def check_priority_free(session: Session, team_id: int, priority: int, rota_id: int | None) -> None:
    clash = session.execute(
        select(col(Rota.id)).where(
            col(Rota.team_id) == team_id,
            col(Rota.priority) == priority,
            col(Rota.id) != (rota_id or -1),
        )
    ).first()
    if clash:
        raise Conflict(f"the team already has a rota with priority {priority} (rota {clash[0]})")


def flush_rota(session: Session, rota: Rota) -> None:
    """Flush, turning a concurrent claim of the same priority (the unique key) into 409."""
    session.add(rota)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"the team already has a rota with priority {rota.priority}") from None


def refuse_gaps(schedule: rotas.Schedule, priority: int, now: datetime, allow_gaps: bool) -> None:
    """A 24/7 line must not publish a hole in its primary rota by accident:
    409 listing the holes of the next 14 days unless `allow_gaps`."""
    if priority != 1 or allow_gaps:
        return
    holes = rotas.gaps(schedule, now, now + GAP_HORIZON)
    if holes:
        raise Conflict(
            {
                "message": "this primary rota leaves nobody on call in the next 14 days; fix it or send allow_gaps=true",
                "gaps": [{"start": a.isoformat(), "end": b.isoformat()} for a, b in holes],
            }
        )


def refuse_losing_primary(rota: Rota, now: datetime, allow_gaps: bool, what: str) -> None:
    """Deleting or demoting the primary rota leaves the team with no primary: all one hole."""
    if rota.priority != 1 or allow_gaps:
        return
    raise Conflict(
        {
            "message": f"{what} leaves the team without a primary rota; create another first or send allow_gaps=true",
            "gaps": [{"start": now.isoformat(), "end": (now + GAP_HORIZON).isoformat()}],
        }
    )


def replace_rota(
    *,
    session: Session,
    principal: Principal,
    rota: Rota,
    body: RotaIn,
    now: datetime,
    allow_gaps: bool,
) -> Rota:
    """Replace the rota's name, priority, time zone and layers (checked,
    409 on gaps unless `allow_gaps`, audited); the caller commits."""
    data = body.model_dump()
    overrides = overrides_between(
        session=session, rota_id=rota.id, start=now, end=now + GAP_HORIZON
    )
    schedule = build_schedule(session=session, team_id=rota.team_id, data=data, overrides=overrides)
    check_priority_free(session, rota.team_id, body.priority, rota.id)
    if body.priority != 1:
        refuse_losing_primary(
            rota, now, allow_gaps, f"moving this rota to priority {body.priority}"
        )
    refuse_gaps(schedule, body.priority, now, allow_gaps)
    rota.name, rota.priority, rota.timezone, rota.layers, rota.updated_at = (
        body.name,
        body.priority,
        body.timezone,
        data["layers"],
        now,
    )
    flush_rota(session, rota)
    audit_row(
        session,
        principal,
        "rota.update",
        rota,
        team_id=rota.team_id,
        detail={"allow_gaps": allow_gaps},
    )
    return rota


# ------------------------------------------------------- calendar feeds


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_calendar_token(*, session: Session, principal: Principal, staff: Staff) -> str:
    """A new secret for `staff`'s calendar feed (stored hashed, so it is
    shown once; the old one stops working), audited; the caller commits."""
    token = secrets.token_urlsafe(24)
    staff.calendar_token = token_hash(token)
    session.add(staff)
    audit_row(
        session,
        principal,
        "calendar_token.create",
        staff,
        record_type="staff",
        team_id=staff.team_id,
    )
    return token


def calendar_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/calendar/{token}.ics"
