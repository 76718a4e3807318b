"""Adding and changing a staff member with everything that goes with it
(the audit row; on deactivation, their contacts handed on and their plan
links revoked). The API (app/teams/router.py) and the console's People
pages both call these, so a change means the same wherever it is made.

A module of its own because app.escalation.handover reads app.teams.service."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app.auth.service import Principal, audit_row
from app.clients.plan_links import revoke_plan_links
from app.escalation import handover
from app.settings import Settings
from app.teams import service
from app.teams.models import Staff, Team

# What a staff member may change about themselves (with a key or session of their own).
SELF_EDITABLE = frozenset({"notify_rules"})


def may_edit_alone(principal: Principal, staff_id: int, fields) -> bool:
    """A person may set their own `fields` without a supervisor."""
    return principal.staff_id == staff_id and set(fields) <= SELF_EDITABLE


def add_staff(*, session: Session, principal: Principal, team: Team, data: dict) -> Staff:
    staff = service.create_staff(session=session, team=team, data=data)
    audit_row(session, principal, "staff.create", staff, team_id=team.id)
    return staff


def change_staff(
    *,
    session: Session,
    principal: Principal,
    staff: Staff,
    data: dict,
    now: datetime,
    settings: Settings,
) -> Staff:
    """Apply a checked PATCH's fields (`active: false` is refused with 409
    while they still hold clients, rota places or future overrides)."""
    team = session.get_one(Team, staff.team_id)
    was_active = staff.active
    service.update_staff(session=session, staff=staff, team=team, data=data, now=now)
    detail: dict = {"fields": sorted(data)}
    if was_active and not staff.active:
        # A deactivated person can hold nothing: their contacts move at once.
        handover.hand_on_contacts_of(
            session=session, staff=staff, now=now, reason=handover.DEACTIVATED, settings=settings
        )
        # Their keys stop working with `active` (app.auth.service.find_key);
        # the plan links on their phone are revoked, not merely refused.
        detail["plan_links_revoked"] = revoke_plan_links(
            session=session, staff_id=staff.id, now=now
        )
    audit_row(session, principal, "staff.update", staff, team_id=staff.team_id, detail=detail)
    return staff
