"""(Over 350 lines as one page: its five actions re-render the page with
their errors, so they share its access check, context and field names;
apart, the page and its actions would only import each other's insides.)

The contact page: conversation, timeline, crisis plan, and the actions a
person takes on a contact. Every action goes through the same functions as
the API (app.contacts.actions) after the same access check (load_contact)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool

from app.auth.deps import SessionDep, require_role
from app.auth.models import Role
from app.auth.service import Principal, audit
from app.clients import service as clients_service
from app.clients.models import PLAN_SECTIONS, Client
from app.console import media
from app.console.board import _who, contact_scope, staff_names
from app.console.plan_page import TITLES as PLAN_TITLES
from app.console.timeline import describe
from app.console.web import ConsolePoller, ConsoleUser, CsrfChecked, now_of, redirect, render
from app.contacts import actions
from app.contacts import service as contacts
from app.contacts.conversation import conversation
from app.contacts.models import Channel, Contact, ContactStatus
from app.contacts.router import load_contact
from app.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.inbound.keywords import StaffReply
from app.inbound.staff_replies import act_on_contact
from app.messaging.outbox import is_opted_out
from app.outcomes.schemas import OUTCOMES, ResolveIn
from app.runtime import RuntimeDep, runtime_of
from app.teams.models import Staff, Team

router = APIRouter(prefix="/console", include_in_schema=False)

OUTCOME_LABELS = {
    "resolved_by_phone": "Resolved by phone",
    "safety_plan_used": "Safety plan used",
    "in_person_visit": "In-person visit",
    "mobile_crisis_dispatched": "Mobile crisis team dispatched",
    "er_visit": "ER visit",
    "hospital_admission": "Hospital admission",
    "police_ems": "Police / EMS",
    "referred_988": "Referred to 988",
    "unable_to_reach": "Unable to reach",
    "non_crisis": "Not a crisis",
}
# What the page says after an action (the query names one; nothing else is shown).
DONE = {
    "taken": "You have taken this contact. Escalation has stopped.",
    "noted": "Note added.",
    "resolved": "Contact resolved.",
    "replied": "Your message is queued from the crisis line.",
    "passed": "Passed: the next level is being paged.",
    "pass_noted": "Noted. The contact had already moved on to the next people.",
    "pass_refused": "It stays with you: nobody is left in its plan to pass it to. "
    "Call a supervisor to hand it over.",
    "duplicate": "That was already sent.",
}
# The page's form fields, where an error can be shown next to its input.
FIELDS = frozenset(
    {
        "text",
        "message",
        "outcome",
        "risk_level",
        "caller_type",
        "emergency_dispatched",
        "emergency_confirmed",
        "referrals",
        "follow_up_due_at",
        "notes",
    }
)
# Twilio refuses a longer body.
REPLY_MAX = 1600
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
RISK_LEVELS = ("low", "moderate", "high", "imminent")
CALLER_TYPES = (("self", "The client"), ("family", "Family"), ("other", "Someone else"))


def readable_contact(session: Session, principal: Principal, contact_id: int) -> Contact:
    """The API's access check, then the case manager's scope (as the board)."""
    contact = load_contact(session, principal, contact_id)
    scope = contact_scope(principal)
    if scope is not None and (
        session.execute(select(col(Contact.id)).where(col(Contact.id) == contact.id, scope)).first()
        is None
    ):
        raise NotFound("contact not found")
    return contact


def _may_read_plan(
    session: Session, principal: Principal, contact: Contact, client: Client
) -> bool:
    if principal.role != Role.CASE_MANAGER:
        return True
    # A case manager reads the plan of their own client, or of the caller of
    # a live contact they were paged for or hold (the contact is in scope).
    own = principal.staff_id in (client.assigned_case_manager_id, client.backup_case_manager_id)
    return own or contact.status in (
        ContactStatus.OPEN,
        ContactStatus.ACKNOWLEDGED,
        ContactStatus.UNANSWERED,
    )


def _page_context(session: Session, principal: Principal, contact: Contact) -> dict[str, Any]:
    team = session.get(Team, contact.team_id)
    client = session.get(Client, contact.client_id) if contact.client_id else None
    events = contacts.timeline(session=session, contact_id=contact.id)
    staff_ids = {e.staff_id for e in events if e.staff_id is not None}
    staff_ids.update(
        i for level in contact.plan for i in (level.get("staff_ids") or []) if isinstance(i, int)
    )
    if contact.acknowledged_by:
        staff_ids.add(contact.acknowledged_by)
    names = staff_names(session, staff_ids)
    plan = None
    plan_shown = False
    if client is not None and _may_read_plan(session, principal, contact, client):
        plan = clients_service.current_plan(session=session, client_id=client.id)
        plan_shown = True
        clients_service.audit_plan_read(
            session=session, principal=principal, client=client, plan=plan, via="console"
        )
    media.audit_contact_view(session, principal, contact, "contact.read", {"via": "console"})
    session.commit()
    return {
        "contact": contact,
        "team": team,
        "zone": team.timezone if team else "UTC",
        "client": client,
        "who": _who(contact, names),
        "messages": conversation(session=session, contact=contact),
        "media_base": f"/console/contacts/{contact.id}/media",
        "entries": describe(events, names),
        "plan": plan,
        "plan_shown": plan_shown,
        "plan_titles": [(name, PLAN_TITLES[name]) for name in PLAN_SECTIONS],
        "can_take": principal.staff_id is not None,
        "can_text": contact.channel == Channel.SMS
        and not is_opted_out(session=session, team_id=contact.team_id, number=contact.from_number),
        # One-time key of the reply and pass forms: the SMS path's MessageSid.
        "reply_key": secrets.token_urlsafe(24),
        "reply_max": REPLY_MAX,
        "outcomes": [(o, OUTCOME_LABELS.get(o, o)) for o in OUTCOMES],
        "risk_levels": RISK_LEVELS,
        "caller_types": CALLER_TYPES,
        "errors": {},
        "form": {},
        "notice": None,
    }


def _render(request, session: Session, principal, contact, *, status_code=200, **overrides):
    context = _page_context(session, principal, contact)
    context.update(overrides)
    return render(request, "console/contact.html", context, status_code=status_code)


@router.get("/contacts/{contact_id}", response_class=HTMLResponse)
def contact_page(contact_id: int, request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    contact = readable_contact(session, user.principal, contact_id)
    notice = DONE.get(request.query_params.get("done", ""))
    return _render(request, session, user.principal, contact, notice=notice)


@router.get("/contacts/{contact_id}/conversation", response_class=HTMLResponse)
def conversation_part(contact_id: int, request: Request, session: SessionDep, user: ConsolePoller):
    """The conversation alone, polled by the contact page so a caller's new
    words appear without a reload. The page view was audited; its polls
    are the same view and are not audited again."""
    require_role(user.principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    contact = readable_contact(session, user.principal, contact_id)
    team = session.get(Team, contact.team_id)
    return render(
        request,
        "console/partials/conversation.html",
        {
            "messages": conversation(session=session, contact=contact),
            "media_base": f"/console/contacts/{contact.id}/media",
            "zone": team.timezone if team else "UTC",
        },
    )


def _console_attachment(
    request: Request,
    session: Session,
    principal: Principal,
    contact_id: int,
    event_id: int,
    index: int,
):
    """The attachment, after the contact page's own access check; audited
    when it will be fetched. Run in a worker thread (the route streams)."""
    contact = readable_contact(session, principal, contact_id)
    found = media.viewed_attachment(
        session=session,
        principal=principal,
        contact_id=contact.id,
        event_id=event_id,
        index=index,
        settings=runtime_of(request).settings,
        via="console",
    )
    if found is not None and found.allowed:
        session.commit()
    return found


@router.get("/contacts/{contact_id}/media/{event_id}/{index}")
async def attachment(
    contact_id: int,
    event_id: int,
    index: int,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    user: ConsoleUser,
) -> Response:
    """A photo or file the caller sent, streamed from Twilio through the
    service (never stored); every view audited."""
    require_role(user.principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    found = await run_in_threadpool(
        _console_attachment, request, session, user.principal, contact_id, event_id, index
    )
    headers = media.CONSOLE_MEDIA_HEADERS
    if found is None:
        return media.not_found(headers)
    if not found.allowed:
        return media.refused(headers)
    return await media.stream(found, settings=runtime.settings, headers=headers)


def _after(request: Request, contact_id: int, notice: str):
    return redirect(f"/console/contacts/{contact_id}?done={notice}", request)


def _refused(request, session: Session, principal, contact_id: int, exc: AppError, form=None):
    session.rollback()
    contact = readable_contact(session, principal, contact_id)
    errors: dict[str, str] = {}
    if isinstance(exc.detail, list):
        for item in exc.detail:
            loc = item.get("loc") or ["form"]
            # A field the page has no input for is said at the top.
            name = str(loc[-1]) if str(loc[-1]) in FIELDS else "form"
            errors[name] = item.get("msg", "is not valid")
    else:
        errors["form"] = str(exc.detail)
    return _render(
        request,
        session,
        principal,
        contact,
        status_code=exc.status_code,
        errors=errors,
        form=form or {},
    )


@router.post("/contacts/{contact_id}/acknowledge", dependencies=[CsrfChecked])
def acknowledge(contact_id: int, request: Request, session: SessionDep, user: ConsoleUser):
    principal = user.principal
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    readable_contact(session, principal, contact_id)
    try:
        if principal.staff_id is None:
            raise Forbidden("sign in as a member of staff to take a contact")
        actions.acknowledge_as(
            session=session,
            principal=principal,
            contact_id=contact_id,
            now=now_of(request),
            via="console",
        )
    except AppError as exc:
        return _refused(request, session, principal, contact_id, exc)
    session.commit()
    return _after(request, contact_id, "taken")


@router.post("/contacts/{contact_id}/notes", dependencies=[CsrfChecked])
async def add_note(contact_id: int, request: Request, session: SessionDep, user: ConsoleUser):
    principal = user.principal
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    readable_contact(session, principal, contact_id)
    form = await request.form()
    text = form.get("text")
    try:
        actions.add_note(
            session=session,
            principal=principal,
            contact_id=contact_id,
            text=text if isinstance(text, str) else "",
            now=now_of(request),
        )
    except AppError as exc:
        return _refused(request, session, principal, contact_id, exc, {"text": text})
    session.commit()
    return _after(request, contact_id, "noted")


def _resolve_details(form: dict[str, str], zone: str) -> dict[str, Any]:
    """The outcome form as ResolveIn's fields (the same schema as the API)."""
    details: dict[str, Any] = {}
    for name in ("outcome", "risk_level", "caller_type", "notes"):
        if form.get(name, "").strip():
            details[name] = form[name].strip()
    for name in ("emergency_dispatched", "emergency_confirmed"):
        if form.get(name) in ("yes", "no"):
            details[name] = form[name] == "yes"
    referrals = [line.strip() for line in form.get("referrals", "").splitlines() if line.strip()]
    if referrals:
        details["referrals"] = referrals
    due = form.get("follow_up_due_at", "").strip()
    if due:
        # A datetime-local field: the team's wall-clock time.
        try:
            details["follow_up_due_at"] = datetime.fromisoformat(due).replace(tzinfo=ZoneInfo(zone))
        except ValueError:
            details["follow_up_due_at"] = due  # ResolveIn names it
    return details


@router.post("/contacts/{contact_id}/resolve", dependencies=[CsrfChecked])
async def resolve(contact_id: int, request: Request, session: SessionDep, user: ConsoleUser):
    principal = user.principal
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    contact = readable_contact(session, principal, contact_id)
    team = session.get_one(Team, contact.team_id)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        body = ResolveIn.model_validate(_resolve_details(form, team.timezone))
    except ValidationError as exc:
        errors = {
            str(e["loc"][-1]) if e["loc"] else "form": _readable_error(e) for e in exc.errors()
        }
        return _render(
            request, session, principal, contact, status_code=422, errors=errors, form=form
        )
    try:
        actions.resolve_as(
            session=session,
            principal=principal,
            contact_id=contact_id,
            details=body.model_dump(exclude_none=True),
            now=now_of(request),
            via="console",
        )
    except AppError as exc:
        return _refused(request, session, principal, contact_id, exc, form)
    session.commit()
    return _after(request, contact_id, "resolved")


def _readable_error(error: Mapping[str, Any]) -> str:
    if error.get("type") == "missing":
        return "Choose one."
    if error.get("type") == "literal_error":
        return "Choose one of the options."
    return str(error.get("msg", "is not valid"))


async def _staff_reply(
    request: Request, session: Session, user, contact_id: int, command: str | None
) -> tuple[str | None, AppError | None, dict]:
    """Relay (command None) or PASS for the signed-in staff member, through
    the SMS reply path (app.inbound.staff_replies.act_on_contact)."""
    principal = user.principal
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    contact = readable_contact(session, principal, contact_id)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    text = form.get("message", "").strip()
    key = form.get("reply_key", "")
    try:
        if principal.staff_id is None:
            raise Forbidden("sign in as a member of staff to answer a contact")
        if not _KEY.fullmatch(key):
            raise Invalid("form", "this form is incomplete; reload the page")
        if command is None:
            if not text:
                raise Invalid("message", "write the message first")
            if len(text) > REPLY_MAX:
                raise Invalid("message", f"at most {REPLY_MAX} characters (split it in two)")
            if contact.channel != Channel.SMS or is_opted_out(
                session=session, team_id=contact.team_id, number=contact.from_number
            ):
                raise Conflict(
                    "this caller cannot be texted (a call, or they texted STOP): "
                    f"call {contact.from_number}"
                )
        result = act_on_contact(
            session=session,
            team=session.get_one(Team, contact.team_id),
            contact_id=contact.id,
            staff=session.get_one(Staff, principal.staff_id),
            reply=StaffReply(contact_id=contact.id, command=command, text=text),
            idempotency_key=f"console:{key}",
            now=now_of(request),
            settings=runtime_of(request).settings,
        )
    except AppError as exc:
        return None, exc, form
    if result != "duplicate":
        audit(
            session=session,
            principal=principal,
            action="contact.pass" if command == "PASS" else "contact.reply",
            record_type="contact",
            record_id=contact.id,
            team_id=contact.team_id,
            detail={"via": "console"},
        )
    session.commit()
    return result, None, form


@router.post("/contacts/{contact_id}/reply", dependencies=[CsrfChecked])
async def reply(contact_id: int, request: Request, session: SessionDep, user: ConsoleUser):
    result, error, form = await _staff_reply(request, session, user, contact_id, None)
    if error is not None:
        return _refused(request, session, user.principal, contact_id, error, form)
    return _after(request, contact_id, "duplicate" if result == "duplicate" else "replied")


@router.post("/contacts/{contact_id}/pass", dependencies=[CsrfChecked])
async def pass_contact(contact_id: int, request: Request, session: SessionDep, user: ConsoleUser):
    result, error, form = await _staff_reply(request, session, user, contact_id, "PASS")
    if error is not None:
        return _refused(request, session, user.principal, contact_id, error, form)
    return _after(request, contact_id, {"pass": "passed"}.get(result or "", result or "passed"))
