"""People: clients (their phones with each phone's language, assigned and
backup case managers with caseloads against the team's limit). Their
crisis plans have their pages beside these (app.console.client_plan_page).

What a person sees is what app.auth.access lets them read through the API
(a case manager: their own caseload, and the callers of live contacts they
are paged for); every change goes through the API's schemas (ClientCreate,
ClientUpdate, CrisisPlanIn) and functions (app.clients.service); every page
showing a plan writes a `crisis_plan.read` audit row as the API's reads do."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session, col

from app.auth import access
from app.auth.deps import SessionDep, load_owned, require_role
from app.auth.models import Role
from app.clients import service
from app.clients.models import PHONE_RELATIONS, Client
from app.clients.schemas import ClientCreate, ClientUpdate
from app.console import form_errors
from app.console.people_page import caseloads, is_supervisor, team_of
from app.console.web import ConsoleUser, CsrfChecked, now_of, redirect, render
from app.errors import AppError
from app.i18n import languages
from app.teams.models import Staff, StaffRole, Team

router = APIRouter(prefix="/console", include_in_schema=False)

# Blank phone rows offered below a client's phones.
NEW_PHONE_ROWS = 1
RELATIONS = {"self": "The client", "family": "Family", "guardian": "Guardian", "other": "Other"}
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
