"""Texts the service accepted but could not route yet (`inbound.dead_letter`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from app.auth.deps import CurrentPrincipal, SessionDep, check_team, require_role
from app.auth.models import Role
from app.auth.service import audit
from app.errors import NotFound
from app.inbound import dead_letter
from app.logs import mask_phone_numbers
from app.paging import Page
from app.teams.models import Team

router = APIRouter(prefix="/v1", tags=["teams"])


class StuckText(BaseModel):
    id: int
    received_at: datetime
    from_number: str  # masked to its last two digits
    # The client's words: for supervisors (audited read); null for admins.
    body: str | None
    attempts: int
    why: str | None  # what routing last raised, the exception's type and where
    next_attempt_at: datetime | None


@router.get("/teams/{team_id}/stuck", response_model=list[StuckText])
def list_stuck(
    team_id: int, session: SessionDep, principal: CurrentPrincipal, paging: Page
) -> list[StuckText]:
    """Texts on the team's line that neither routing nor the minimal plan
    (on-call, supervisors, fallback) could open yet, oldest first; each is
    tried again every minute. Numbers are masked; the words are shown to
    the team's supervisors only, and that read is audited."""
    require_role(principal, Role.SUPERVISOR)
    check_team(principal, team_id, what="team")
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("team not found")
    rows = paging.of(
        dead_letter.stuck_on_line(
            session, team.crisis_line_number, limit=paging.limit + 1, offset=paging.offset
        )
    )
    with_bodies = principal.role == Role.SUPERVISOR
    if with_bodies and rows:
        audit(
            session=session,
            principal=principal,
            action="inbox.stuck.read",
            record_type="team",
            record_id=team.id,
            team_id=team.id,
            detail={"inbox_ids": [row.id for row in rows]},
        )
        session.commit()
    return [
        StuckText(
            id=row.id,
            received_at=row.received_at,
            from_number=mask_phone_numbers(row.from_number),
            body=row.body if with_bodies else None,
            attempts=row.attempts,
            why=row.last_error,
            next_attempt_at=row.next_attempt_at,
        )
        for row in rows
    ]
