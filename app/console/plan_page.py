"""The page behind a staff notification's link (no login): the contact's
whole conversation, its status and holder, and the client's crisis plan.

The link's token is the plan link's (app.clients.plan_links): random, stored
hashed, expiring, revocable; every open is audited. A link made through the
API for a plan alone (no contact) shows the plan alone. The page polls its
conversation fragment through the same token so a client's new words appear
without a reload.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool

from app.auth.deps import SessionDep
from app.auth.service import Principal
from app.clients import plan_links
from app.clients import service as clients_service
from app.clients.models import PLAN_SECTIONS, Client, ClientPhone, PlanLink
from app.console import media
from app.console.board import _paged_ids
from app.console.web import CONTENT_SECURITY_POLICY, templates
from app.contacts.conversation import Message, conversation
from app.contacts.models import Contact, ContactStatus
from app.runtime import RuntimeDep, runtime_of
from app.teams.models import Staff, Team

router = APIRouter(tags=["plan page"])

TITLES = {
    "warning_signs": "Warning signs",
    "coping_strategies": "Things I can do on my own",
    "social_supports": "People and places that help me feel better",
    "people_to_call": "People I can ask for help",
    "professionals": "Professionals and agencies (988 Suicide & Crisis Lifeline)",
    "safe_environment": "Making my environment safe",
    "reasons_for_living": "My reasons for living",
}
# How often the page asks for the conversation again.
POLL_SECONDS = 3
# The page carries client data and is opened from a text message: nothing
# caches it, no next page learns its URL, no inline script runs in it.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}
STATUS_LABELS: dict[str, str] = {
    ContactStatus.OPEN: "waiting for someone to answer",
    ContactStatus.ACKNOWLEDGED: "answered",
    ContactStatus.RESOLVED: "resolved",
    ContactStatus.UNANSWERED: "nobody answered",
}
RELATION_LABELS = {"family": "family", "guardian": "guardian", "other": "someone"}


def _principal(link: PlanLink) -> Principal:
    return Principal(actor=f"plan-link:{link.id}", role="plan_link", staff_id=link.staff_id)


def _gone(request: Request) -> HTMLResponse:
    """Expired, revoked or never issued: the same answer, with nothing of
    the contact or the client in it."""
    return templates.TemplateResponse(
        request, "link/gone.html", {"request": request}, status_code=404, headers=HEADERS
    )


def _link(request: Request, session: Session, token: str) -> PlanLink | None:
    return plan_links.find_plan_link(session=session, token=token, now=runtime_of(request).now())


def _caller(session: Session, contact: Contact, client: Client | None) -> str:
    """Who texts from the contact's number: the client by name, a family
    member by the name on the client's record, or the number's relation."""
    if client is None:
        return "several clients' number" if contact.candidate_client_ids else "unknown caller"
    relation = contact.caller_relation or "self"
    if relation == "self":
        return client.preferred_name
    name = session.execute(
        select(col(ClientPhone.name)).where(
            col(ClientPhone.client_id) == client.id, col(ClientPhone.number) == contact.from_number
        )
    ).scalar()
    kind = RELATION_LABELS.get(relation, relation)
    return (
        f"{name} ({kind} of {client.preferred_name})"
        if name
        else f"{kind} of {client.preferred_name}"
    )


def _holder(session: Session, contact: Contact) -> str:
    """Who holds the contact, or who is paged for it now."""
    if contact.status == ContactStatus.ACKNOWLEDGED and contact.acknowledged_by is not None:
        staff = session.get(Staff, contact.acknowledged_by)
        return f"held by {staff.name}" if staff else "held"
    if contact.status == ContactStatus.UNANSWERED:
        return "nobody has taken it"
    ids = _paged_ids(contact)
    if not ids:
        return ""
    names = session.execute(select(col(Staff.name)).where(col(Staff.id).in_(ids))).scalars()
    return "paged: " + ", ".join(names)


def _conversation_context(
    session: Session, token: str, contact: Contact, client: Client | None
) -> dict[str, Any]:
    team = session.get(Team, contact.team_id)
    messages: list[Message] = conversation(session=session, contact=contact)
    return {
        "token": token,
        "media_base": f"/plan/{token}/media",
        "contact": contact,
        "messages": messages,
        "shown": len(messages),
        "zone": team.timezone if team else "UTC",
        "caller": _caller(session, contact, client),
        "status_label": STATUS_LABELS.get(contact.status, contact.status),
        "holder": _holder(session, contact),
        "poll_seconds": POLL_SECONDS,
    }


def _audit_contact_read(
    session: Session, link: PlanLink, contact: Contact, *, messages: int, poll: bool
) -> None:
    detail = {"via": "plan_link", "messages": messages, "poll": poll}
    media.audit_contact_view(session, _principal(link), contact, "contact.read", detail)


@router.get("/plan/{token}", response_class=HTMLResponse)
def plan_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """The conversation and the crisis plan, read-only and phone-sized, for the
    holder of a live link. Every open is audited; a dead link shows nothing."""
    request.app.state.rate_limiter.link_opened(request, "plan", token)
    link = _link(request, session, token)
    if link is None:
        return _gone(request)
    client = session.get(Client, link.client_id) if link.client_id else None
    contact = session.get(Contact, link.contact_id) if link.contact_id else None
    if contact is None and client is None:
        return _gone(request)
    plan = None
    if client is not None:
        plan = clients_service.current_plan(session=session, client_id=client.id)
        clients_service.audit_plan_read(
            session=session, principal=_principal(link), client=client, plan=plan, via="plan_link"
        )
    context: dict[str, Any] = {
        "request": request,
        "client": client,
        "plan": plan,
        "plan_titles": [(name, TITLES[name]) for name in PLAN_SECTIONS],
        "expires_at": link.expires_at,
        "contact": None,
        "zone": "UTC",
    }
    if contact is not None:
        context.update(_conversation_context(session, token, contact, client))
        _audit_contact_read(session, link, contact, messages=context["shown"], poll=False)
    else:
        team = session.get(Team, client.team_id) if client else None
        context["zone"] = team.timezone if team else "UTC"
    session.commit()
    return templates.TemplateResponse(request, "link/page.html", context, headers=HEADERS)


@router.get("/plan/{token}/conversation", response_class=HTMLResponse)
def conversation_fragment(
    token: str,
    request: Request,
    session: SessionDep,
    shown: int = Query(default=0, ge=0, le=1_000_000),
) -> Response:
    """The conversation, status and holder alone, polled by the page. A poll
    that shows messages the page had not shown yet (`shown`: how many it
    had) is a new view and is audited; one that shows nothing new is not."""
    link = _link(request, session, token)
    contact = session.get(Contact, link.contact_id) if link and link.contact_id else None
    if link is None or contact is None:
        # Only failed polls count towards the link rate limit: a page open on a
        # phone polls for as long as it is open, a guesser fails every time.
        request.app.state.rate_limiter.link_opened(request, "plan", token)
        return Response(status_code=404, headers=HEADERS)
    client = session.get(Client, link.client_id) if link.client_id else None
    context = _conversation_context(session, token, contact, client)
    context["request"] = request
    if context["shown"] > shown:
        _audit_contact_read(session, link, contact, messages=context["shown"], poll=True)
        session.commit()
    return templates.TemplateResponse(request, "link/conversation.html", context, headers=HEADERS)


def _media_target(request: Request, token: str, event_id: int, index: int):
    """The attachment a live link may see (audited when it will be fetched),
    or None when the link, the message or the attachment is not there."""
    runtime = runtime_of(request)
    request.app.state.rate_limiter.link_opened(request, "plan", token)
    with runtime.db.session() as session:
        link = _link(request, session, token)
        if link is None or link.contact_id is None:
            return None
        found = media.viewed_attachment(
            session=session,
            principal=_principal(link),
            contact_id=link.contact_id,
            event_id=event_id,
            index=index,
            settings=runtime.settings,
            via="plan_link",
        )
    return found


@router.get("/plan/{token}/media/{event_id}/{index}")
async def media_view(
    token: str, event_id: int, index: int, request: Request, runtime: RuntimeDep
) -> Response:
    """An attachment of the conversation, fetched from Twilio with the
    account's credentials and streamed through (never stored). Every view
    is audited."""
    found = await run_in_threadpool(_media_target, request, token, event_id, index)
    if found is None:
        return media.not_found()
    if not found.allowed:
        return media.refused()
    return await media.stream(found, settings=runtime.settings)
