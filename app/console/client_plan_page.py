"""A client's crisis plan in the console: the current version, any older
one, two compared line by line, and the form that saves a new version.

A person reads a plan when app.auth.access lets them read the client
through the API; every page showing a plan writes a `crisis_plan.read`
audit row as the API's reads do, and a new version goes through the API's
schema (CrisisPlanIn) and function (app.clients.service.write_plan)."""

from __future__ import annotations

import difflib

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session, col

from app.auth import access
from app.auth.deps import SessionDep, load_owned, require_role
from app.auth.models import Role
from app.auth.service import Principal
from app.clients import service
from app.clients.models import PLAN_SECTIONS, Client, CrisisPlan
from app.clients.schemas import CrisisPlanIn
from app.console.clients_page import DONE
from app.console.people_page import is_supervisor
from app.console.plan_page import TITLES as PLAN_TITLES
from app.console.web import ConsoleUser, CsrfChecked, redirect, render
from app.errors import NotFound

router = APIRouter(prefix="/console", include_in_schema=False)

PLAN_TEXTS = (
    ("preferred_hospital", "Preferred hospital"),
    ("advance_directive_notes", "Advance directive"),
    ("notes", "Notes"),
)


def _plan_lines(plan: CrisisPlan | None) -> list[tuple[str, str]]:
    """A version as (kind, text) lines: a heading per section, then its items."""
    lines: list[tuple[str, str]] = []
    if plan is None:
        return lines
    for name in PLAN_SECTIONS:
        lines.append(("heading", PLAN_TITLES[name]))
        lines.extend(("item", item) for item in plan.sections.get(name) or [])
    for name, title in PLAN_TEXTS:
        value = getattr(plan, name)
        lines.append(("heading", title))
        lines.extend(("item", line) for line in (value or "").splitlines() if line.strip())
    return lines


def plan_diff(old: CrisisPlan | None, new: CrisisPlan | None) -> list[dict]:
    """Every line of both versions once, marked `same`, `removed` or `added`
    (difflib's matching over whole lines; headings are always kept)."""
    a, b = _plan_lines(old), _plan_lines(new)
    rows: list[dict] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows.extend({"change": "same", "kind": k, "text": t} for k, t in a[i1:i2])
            continue
        rows.extend({"change": "removed", "kind": k, "text": t} for k, t in a[i1:i2])
        rows.extend({"change": "added", "kind": k, "text": t} for k, t in b[j1:j2])
    return rows


def _readable(session: Session, principal: Principal, client_id: int) -> Client:
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    return access.readable_client(session, principal, client_id)


def _version(session: Session, client: Client, version: int) -> CrisisPlan:
    plan = session.execute(
        select(CrisisPlan).where(
            col(CrisisPlan.client_id) == client.id, col(CrisisPlan.version) == version
        )
    ).scalar_one_or_none()
    if plan is None:
        raise NotFound("no such version of this client's plan")
    return plan


def _plan_context(session: Session, client: Client) -> dict:
    return {
        "client": client,
        "versions": service.plan_versions(session=session, client_id=client.id),
        "plan_titles": [(name, PLAN_TITLES[name]) for name in PLAN_SECTIONS],
    }


@router.get("/clients/{client_id}/plan", response_class=HTMLResponse)
def plan_page(
    client_id: int,
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    done: str | None = None,
):
    client = _readable(session, user.principal, client_id)
    context = _plan_context(session, client)
    plan = context["versions"][-1] if context["versions"] else None
    service.audit_plan_read(
        session=session, principal=user.principal, client=client, plan=plan, via="console"
    )
    session.commit()
    context.update(
        plan=plan,
        shown="current",
        can_edit=is_supervisor(user.principal),
        notice=DONE.get(done or ""),
    )
    return render(request, "console/plan.html", context)


@router.get("/clients/{client_id}/plan/versions/{version}", response_class=HTMLResponse)
def plan_version(
    client_id: int, version: int, request: Request, session: SessionDep, user: ConsoleUser
):
    client = _readable(session, user.principal, client_id)
    plan = _version(session, client, version)
    service.audit_plan_read(
        session=session, principal=user.principal, client=client, plan=plan, via="console"
    )
    session.commit()
    context = _plan_context(session, client)
    context.update(plan=plan, shown="version", can_edit=False, notice=None)
    return render(request, "console/plan.html", context)


@router.get("/clients/{client_id}/plan/compare", response_class=HTMLResponse)
def plan_compare(
    client_id: int, request: Request, session: SessionDep, user: ConsoleUser, a: int, b: int
):
    client = _readable(session, user.principal, client_id)
    old, new = _version(session, client, a), _version(session, client, b)
    for plan in (old, new):
        service.audit_plan_read(
            session=session, principal=user.principal, client=client, plan=plan, via="console"
        )
    session.commit()
    context = _plan_context(session, client)
    context.update(old=old, new=new, rows=plan_diff(old, new))
    return render(request, "console/plan_compare.html", context)


def _plan_values(plan: CrisisPlan | None) -> dict[str, str]:
    values = {
        name: "\n".join(plan.sections.get(name) or []) if plan else "" for name in PLAN_SECTIONS
    }
    for name, _title in PLAN_TEXTS:
        values[name] = (getattr(plan, name) or "") if plan else ""
    return values


def _plan_form(request, client, values, *, errors=None, based_on=None, status=200):
    return render(
        request,
        "console/plan_form.html",
        {
            "client": client,
            "values": values,
            "errors": errors or {},
            "based_on": based_on,
            "plan_titles": [(name, PLAN_TITLES[name]) for name in PLAN_SECTIONS],
            "plan_texts": PLAN_TEXTS,
        },
        status_code=status,
    )


@router.get("/clients/{client_id}/plan/edit", response_class=HTMLResponse)
def plan_form(client_id: int, request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, Role.SUPERVISOR)
    client = load_owned(session, user.principal, Client, client_id, what="client")
    plan = service.current_plan(session=session, client_id=client.id)
    service.audit_plan_read(
        session=session, principal=user.principal, client=client, plan=plan, via="console"
    )
    session.commit()
    return _plan_form(request, client, _plan_values(plan), based_on=plan)


def _plan_errors(exc: ValidationError) -> dict[str, str]:
    """By section: an item's error says which line."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = list(error.get("loc") or ["form"])
        message = str(error.get("msg", "is not valid"))
        if len(loc) > 1 and isinstance(loc[1], int):
            message = f"line {loc[1] + 1}: {message}"
        errors.setdefault(str(loc[0]), message)
    return errors


@router.post("/clients/{client_id}/plan", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def save_plan(client_id: int, request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, Role.SUPERVISOR)
    client = load_owned(session, user.principal, Client, client_id, what="client")
    form = await request.form()
    values: dict[str, str] = {}
    for name in (*PLAN_SECTIONS, *(n for n, _t in PLAN_TEXTS)):
        value = form.get(name)
        values[name] = value if isinstance(value, str) else ""
    data: dict = {
        name: [line.strip() for line in values[name].splitlines() if line.strip()]
        for name in PLAN_SECTIONS
    }
    for name, _title in PLAN_TEXTS:
        data[name] = values[name].strip() or None
    try:
        body = CrisisPlanIn.model_validate(data)
    except ValidationError as exc:
        plan = service.current_plan(session=session, client_id=client.id)
        return _plan_form(
            request, client, values, errors=_plan_errors(exc), based_on=plan, status=422
        )
    service.write_plan(
        session=session, principal=user.principal, client=client, data=body.model_dump()
    )
    session.commit()
    return redirect(f"/console/clients/{client.id}/plan?done=plan", request)
