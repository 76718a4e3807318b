"""Calendar feeds of the on-call shifts (iCalendar): a rota's for the people
who read it with a key, and a staff member's own through a secret URL that a
phone's calendar app can subscribe to."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from icalendar import Calendar, Event
from sqlalchemy import select
from sqlmodel import col

import rotas
from app.auth.deps import CurrentPrincipal, SessionDep, check_team, load_owned, require_role
from app.auth.models import Role
from app.errors import Invalid, NotFound
from app.oncall import service
from app.oncall.models import Rota
from app.oncall.schemas import MAX_ID, CalendarToken, RotaId, StaffId
from app.runtime import RuntimeDep, runtime_of
from app.teams.models import Staff

router = APIRouter(tags=["on-call"])
CALENDAR_PAST, CALENDAR_AHEAD = timedelta(days=7), timedelta(days=60)


def _calendar(
    shifts: list[tuple[Rota, rotas.Shift]], names: dict[Hashable, str], now: datetime
) -> Response:
    calendar = Calendar()
    calendar.add("prodid", "-//crisisroute//on-call//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "On call")
    for rota, shift in shifts:
        event = Event()
        event.add(
            "uid", f"crisisroute-rota{rota.id}-staff{shift.person}-{shift.start:%Y%m%dT%H%M%SZ}"
        )
        event.add("summary", f"On call: {rota.name} ({names.get(shift.person, shift.person)})")
        event.add("dtstart", shift.start)
        event.add("dtend", shift.end)
        event.add("dtstamp", now)  # when this copy was made: lets a client see a changed shift
        calendar.add_component(event)
    return Response(calendar.to_ical(), media_type="text/calendar")


@router.get("/v1/rotas/{rota_id}/calendar.ics", response_class=Response)
def rota_calendar(
    rota_id: RotaId,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    staff_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The rota's shifts from a week ago to 60 days ahead; one person's with staff_id."""
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    rota = load_owned(session, principal, Rota, rota_id, what="rota")
    names = {
        s.id: s.name
        for s in session.execute(select(Staff).where(col(Staff.team_id) == rota.team_id)).scalars()
    }
    if staff_id is not None and staff_id not in names:
        raise Invalid(["query", "staff_id"], "is not a member of this rota's team")
    now = runtime_of(request).now()
    shifts = service.shifts(
        session=session,
        rota=rota,
        start=now - CALENDAR_PAST,
        end=now + CALENDAR_AHEAD,
        staff_id=staff_id,
    )
    return _calendar([(rota, s) for s in shifts], names, now)


@router.post("/v1/staff/{staff_id}/calendar-token", status_code=201, response_model=CalendarToken)
def create_calendar_token(
    staff_id: StaffId, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
) -> CalendarToken:
    """A new subscription URL for a staff member's own shifts (the old one stops working)."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("staff member not found")
    check_team(principal, staff.team_id, what="staff member")
    if principal.staff_id != staff.id:
        require_role(principal, Role.SUPERVISOR)
    token = service.new_calendar_token(session=session, principal=principal, staff=staff)
    session.commit()
    return CalendarToken(staff_id=staff.id, url=service.calendar_url(runtime.settings, token))


@router.get("/calendar/{token}.ics", response_class=Response, include_in_schema=True)
def staff_calendar(token: str, request: Request, session: SessionDep) -> Response:
    """A staff member's shifts on every rota of their team; the token is the key."""
    request.app.state.rate_limiter.link_opened(request, "calendar", token)
    staff = (
        session.execute(select(Staff).where(col(Staff.calendar_token) == service.token_hash(token)))
        .scalars()
        .first()
    )
    if staff is None or not staff.active:
        raise NotFound("calendar not found")
    now = runtime_of(request).now()
    shifts = []
    for rota in service.team_rotas(session=session, team_id=staff.team_id):
        shifts += [
            (rota, s)
            for s in service.shifts(
                session=session,
                rota=rota,
                start=now - CALENDAR_PAST,
                end=now + CALENDAR_AHEAD,
                staff_id=staff.id,
            )
        ]
    shifts.sort(key=lambda pair: pair[1].start)
    return _calendar(shifts, {staff.id: staff.name}, now)
