"""The morning review queue and the mark-reviewed action, through the same
service functions as GET /v1/teams/{id}/review-queue and
POST /v1/contacts/{id}/review (one rule, one place)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlmodel import Session

from app.auth.deps import SessionDep, require_role
from app.auth.models import Role
from app.console.board import client_names
from app.console.web import ConsoleUser, CsrfChecked, now_of, redirect, render
from app.contacts.derived import is_after_hours
from app.contacts.router import load_contact
from app.errors import NotFound
from app.outcomes import service
from app.outcomes.schemas import ReviewIn
from app.teams.models import Team

router = APIRouter(prefix="/console", include_in_schema=False)


def _team(session: Session, user) -> Team:
    team = session.get(Team, user.principal.team_id) if user.principal.team_id else None
    if team is None:
        raise NotFound("This page shows one team's queue; sign in as a supervisor of the team.")
    return team


def _context(session: Session, user, now: datetime) -> dict:
    team = _team(session, user)
    contacts = service.review_queue(session=session, team=team, now=now)
    client_ids = {c.client_id for c in contacts if c.client_id is not None}
    names = client_names(session, client_ids)
    rows = [
        {
            "contact": c,
            "client_name": names.get(c.client_id, "unknown") if c.client_id else "unknown",
            "overnight": is_after_hours(c.created_at, team.timezone),
            "follow_up_due": service.follow_up_pending(c, now),
        }
        for c in contacts
    ]
    return {"rows": rows, "timezone": team.timezone, "errors": {}, "notes": {}, "done": False}


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, session: SessionDep, user: ConsoleUser, done: str | None = None):
    require_role(user.principal, Role.SUPERVISOR)
    context = _context(session, user, now_of(request))
    context["done"] = done == "reviewed"
    return render(request, "console/review.html", context)


@router.post("/review/{contact_id}", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def mark_reviewed(contact_id: int, request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, Role.SUPERVISOR)
    contact = load_contact(session, user.principal, contact_id)
    form = await request.form()
    note = form.get("note")
    note = note.strip() if isinstance(note, str) and note.strip() else None
    try:
        body = ReviewIn(note=note)
    except ValidationError as exc:
        context = _context(session, user, now_of(request))
        context["errors"] = {contact_id: exc.errors()[0]["msg"]}
        context["notes"] = {contact_id: note}
        return render(request, "console/review.html", context, status_code=422)
    service.mark_reviewed(
        session=session,
        principal=user.principal,
        contact=contact,
        note=body.note,
        now=now_of(request),
    )
    session.commit()
    return redirect("/console/review?done=reviewed", request)
