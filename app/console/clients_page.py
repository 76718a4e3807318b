"""People: clients (their phones with each phone's language, assigned and
backup case managers with caseloads against the team's limit) and their
crisis plans (a new version per edit, the versions, two compared).

What a person sees is what app.auth.access lets them read through the API
(a case manager: their own caseload, and the callers of live contacts they
are paged for); every change goes through the API's schemas (ClientCreate,
ClientUpdate, CrisisPlanIn) and functions (app.clients.service); every page
showing a plan writes a `crisis_plan.read` audit row as the API's reads do."""

from __future__ import annotations

import difflib
import re

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
from app.clients.models import PHONE_RELATIONS, PLAN_SECTIONS, Client, CrisisPlan
from app.clients.schemas import ClientCreate, ClientUpdate, CrisisPlanIn
from app.console import form_errors
from app.console.people_page import caseloads, is_supervisor, team_of
from app.console.plan_page import TITLES as PLAN_TITLES
from app.console.web import ConsoleUser, CsrfChecked, now_of, redirect, render
from app.errors import AppError, NotFound
from app.i18n import languages
from app.teams.models import Staff, StaffRole, Team

router = APIRouter(prefix="/console", include_in_schema=False)

# Blank phone rows offered below a client's phones.
NEW_PHONE_ROWS = 1
RELATIONS = {"self": "The client", "family": "Family", "guardian": "Guardian", "other": "Other"}
PLAN_TEXTS = (
    ("preferred_hospital", "Preferred hospital"),
    ("advance_directive_notes", "Advance directive"),
    ("notes", "Notes"),
)
DONE = {"created": "Client added.", "saved": "Saved.", "plan": "New plan version saved."}
# A service's 409 that names a phone row: "phones[1]: +1… is a staff member's phone".
_ROW_MESSAGE = re.compile(r"^phones\[(\d+)\]: (.*)$", re.S)


def _case_managers(session: Session, team: Team) -> list[Staff]:
    return list(
        session.execute(
            select(Staff)
            .where(
                col(Staff.team_id) == team.id,
                col(Staff.role) == StaffRole.CASE_MANAGER,
                col(Staff.active).is_(True),
            )
            .order_by(col(Staff.name), col(Staff.id))
        ).scalars()
    )


def _names(session: Session, team_id: int) -> dict[int, str]:
    return dict(
        session.execute(
            select(col(Staff.id), col(Staff.name)).where(col(Staff.team_id) == team_id)
        ).all()
    )


@router.get("/clients", response_class=HTMLResponse)
def clients(request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    team = team_of(session, user.principal)
    rows = service.clients_of(
        session=session, team_id=team.id, where=access.client_filter(user.principal)
    )
    return render(
        request,
        "console/clients.html",
        {
            "team": team,
            "clients": rows,
            "names": _names(session, team.id),
            "caseloads": caseloads(session, team.id),
            "can_edit": is_supervisor(user.principal),
        },
    )


# ------------------------------------------------------------- a client


def _values_of(session: Session, client: Client | None) -> dict:
    if client is None:
        return {
            "preferred_name": "",
            "language": "",
            "assigned_case_manager_id": "",
            "backup_case_manager_id": "",
            "status": "active",
            "phones": [],
        }
    return {
        "preferred_name": client.preferred_name,
        "language": client.language or "",
        "assigned_case_manager_id": str(client.assigned_case_manager_id or ""),
        "backup_case_manager_id": str(client.backup_case_manager_id or ""),
        "status": client.status,
        "phones": [
            {
                "number": p["number"],
                "relation": p["relation"],
                "name": p["name"] or "",
                "language": p["language"] or "",
                "shared": p["shared_with_client_ids"],
            }
            for p in service.phones_out(session=session, client=client)
        ],
    }


async def _posted(request: Request) -> dict:
    """The form as the page shows it again; empty phone rows are dropped, so
    the rows kept are numbered as the schema numbers them."""
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    phones = []
    for i in range(int(text("phone_rows") or 0) if text("phone_rows").isdigit() else 0):
        row = {f: text(f"phones.{i}.{f}") for f in ("number", "relation", "name", "language")}
        if row["number"] or row["name"]:
            phones.append({**row, "shared": []})
    return {
        "preferred_name": text("preferred_name"),
        "language": text("language"),
        "assigned_case_manager_id": text("assigned_case_manager_id"),
        "backup_case_manager_id": text("backup_case_manager_id"),
        "status": text("status") or "active",
        "phones": phones,
    }


def _schema_data(values: dict, *, new: bool) -> dict:
    data = {
        "preferred_name": values["preferred_name"],
        "language": values["language"] or None,
        "assigned_case_manager_id": values["assigned_case_manager_id"] or None,
        "backup_case_manager_id": values["backup_case_manager_id"] or None,
        "phones": [
            {
                "number": p["number"],
                "relation": p["relation"] or None,
                "name": p["name"] or None,
                "language": p["language"] or None,
            }
            for p in values["phones"]
        ],
    }
    if not new:
        data["status"] = values["status"]
    return data


def _changed(session: Session, client: Client, data: dict) -> dict:
    """Only what the form changes, so the audit row names it (and the phones
    are rewritten only when they changed)."""
    stored = {
        "preferred_name": client.preferred_name,
        "language": client.language,
        "assigned_case_manager_id": client.assigned_case_manager_id,
        "backup_case_manager_id": client.backup_case_manager_id,
        "status": client.status,
        "phones": [
            {k: p[k] for k in ("number", "relation", "name", "language")}
            for p in service.phones_out(session=session, client=client)
        ],
    }
    return {k: v for k, v in data.items() if stored.get(k) != v}


def _app_errors(exc: AppError) -> tuple[dict[str, str], list[str]]:
    errors, blocking = form_errors.from_app_error(exc)
    match = _ROW_MESSAGE.match(errors.get("form", ""))
    if match:
        del errors["form"]
        errors[f"phones.{match.group(1)}.number"] = match.group(2)
    return errors, blocking


def _form_page(
    request,
    session: Session,
    team: Team,
    *,
    client,
    values,
    mode,
    errors=None,
    notice=None,
    status=200,
):
    phones = list(values["phones"])
    blank = {"number": "", "relation": "", "name": "", "language": "", "shared": []}
    phones += [dict(blank) for _ in range(NEW_PHONE_ROWS if phones else 2)]
    return render(
        request,
        "console/client.html",
        {
            "team": team,
            "client": client,
            "values": values,
            "phone_rows": phones,
            "mode": mode,
            "errors": errors or {},
            "notice": notice,
            "case_managers": _case_managers(session, team),
            "caseloads": caseloads(session, team.id),
            "names": _names(session, team.id),
            "languages": languages(),
            "relations": [(r, RELATIONS[r]) for r in PHONE_RELATIONS],
        },
        status_code=status,
    )


@router.get("/clients/new", response_class=HTMLResponse)
def new_client_form(request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, Role.SUPERVISOR)
    team = team_of(session, user.principal)
    return _form_page(
        request, session, team, client=None, values=_values_of(session, None), mode="edit"
    )


def _refused(
    request,
    session: Session,
    team: Team,
    client: Client | None,
    values: dict,
    exc: ValidationError | AppError,
    data: dict,
) -> HTMLResponse:
    """The form again, with what the schema or the service refused. Nothing
    of the refused write is kept."""
    session.rollback()
    if isinstance(exc, ValidationError):
        errors, status = form_errors.from_validation(exc, data), 422
    else:
        errors, status = _app_errors(exc)[0], exc.status_code
    return _form_page(
        request,
        session,
        team,
        client=client,
        values=values,
        mode="edit",
        errors=errors,
        status=status,
    )


@router.post("/clients", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def create_client(request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, Role.SUPERVISOR)
    team = team_of(session, user.principal)
    values = await _posted(request)
    data = _schema_data(values, new=True)
    try:
        body = ClientCreate.model_validate(data)
        client = service.add_client(
            session=session, principal=user.principal, team=team, data=body.model_dump()
        )
    except (ValidationError, AppError) as exc:
        return _refused(request, session, team, None, values, exc, data)
    session.commit()
    return redirect(f"/console/clients/{client.id}?done=created", request)


@router.get("/clients/{client_id}", response_class=HTMLResponse)
def client_page(
    client_id: int,
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    done: str | None = None,
):
    require_role(user.principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    client = access.readable_client(session, user.principal, client_id)
    team = session.get_one(Team, client.team_id)
    return _form_page(
        request,
        session,
        team,
        client=client,
        values=_values_of(session, client),
        mode="edit" if is_supervisor(user.principal) else "read",
        notice=DONE.get(done or ""),
    )


@router.post("/clients/{client_id}", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def edit_client(client_id: int, request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, Role.SUPERVISOR)
    client = load_owned(session, user.principal, Client, client_id, what="client")
    team = session.get_one(Team, client.team_id)
    values = await _posted(request)
    data = _schema_data(values, new=False)
    try:
        body = ClientUpdate.model_validate(data)
        service.change_client(
            session=session,
            principal=user.principal,
            client=client,
            data=_changed(session, client, body.model_dump()),
            now=now_of(request),
        )
    except (ValidationError, AppError) as exc:
        return _refused(request, session, team, client, values, exc, data)
    session.commit()
    return redirect(f"/console/clients/{client.id}?done=saved", request)


# ------------------------------------------------------------ crisis plans


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
