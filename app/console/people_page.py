"""(Over 350 lines as one page: most of it turns the staff form to and from
the API's schema, working hours and notify rules included, which nothing
else uses; apart, the form and its routes would only import each other.)

People: the team's staff, with forms to add, edit and deactivate a person
(notification rules and languages spoken included). The forms are checked
by the API's own schemas (StaffCreate, StaffUpdate) and applied by the same
functions as POST /v1/teams/{id}/staff and PATCH /v1/staff/{id}
(app.teams.staff_changes), so a rule lives in one place and its error shows
next to the field it names."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlmodel import Session, col

from app.auth.deps import SessionDep, load_owned, require_role
from app.auth.models import Role
from app.auth.service import Principal
from app.clients.models import Client
from app.console import form_errors
from app.console.web import ConsoleUser, CsrfChecked, now_of, redirect, render
from app.errors import AppError, NotFound
from app.escalation import notify_rules
from app.i18n import languages
from app.runtime import RuntimeDep
from app.teams import staff_changes
from app.teams.models import Staff, StaffRole, Team
from app.teams.schemas import StaffCreate, StaffUpdate

router = APIRouter(prefix="/console", include_in_schema=False)

# Rows of the notification-rule editor (the schema allows ten).
RULE_ROWS = 4
# Rows of the working-hours editor (windows of the week; the schema allows 14).
HOURS_ROWS = 3
DAYS = (
    ("mon", "Mon"),
    ("tue", "Tue"),
    ("wed", "Wed"),
    ("thu", "Thu"),
    ("fri", "Fri"),
    ("sat", "Sat"),
    ("sun", "Sun"),
)
ROLES = ((StaffRole.CASE_MANAGER, "Case manager"), (StaffRole.SUPERVISOR, "Supervisor"))
CHANNELS = (("sms", "Text (SMS)"), ("call", "Phone call"))
DONE = {
    "created": "Added.",
    "saved": "Saved.",
    "deactivated": "Deactivated: they are paged for nothing and cannot sign in.",
    "activated": "Active again.",
}


_DEFAULT_ROWS = [
    {"channel": r["channel"], "after_seconds": str(r["after_seconds"])}
    for r in notify_rules.DEFAULT_RULES
]


def team_of(session: Session, principal: Principal) -> Team:
    team = session.get(Team, principal.team_id) if principal.team_id else None
    if team is None:
        raise NotFound("These pages show one team; sign in as a member of the team.")
    return team


def caseloads(session: Session, team_id: int) -> dict[int, int]:
    """Staff id -> active clients they are the assigned case manager of."""
    return dict(
        session.execute(
            select(col(Client.assigned_case_manager_id), func.count())
            .where(col(Client.team_id) == team_id, col(Client.status) == "active")
            .group_by(col(Client.assigned_case_manager_id))
        ).all()
    )


def rules_text(rules) -> str:
    parts = [
        f"{'text' if r.channel == 'sms' else 'call'} at {r.after_seconds} s"
        for r in notify_rules.parse(rules)
    ]
    return ", ".join(parts)


def is_supervisor(principal: Principal) -> bool:
    return principal.is_admin or principal.role == Role.SUPERVISOR


@router.get("/people", response_class=HTMLResponse)
def people(request: Request, session: SessionDep, user: ConsoleUser, done: str | None = None):
    require_role(user.principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    team = team_of(session, user.principal)
    staff = list(
        session.execute(
            select(Staff)
            .where(col(Staff.team_id) == team.id)
            .order_by(col(Staff.active).desc(), col(Staff.name), col(Staff.id))
        ).scalars()
    )
    return render(
        request,
        "console/people.html",
        {
            "team": team,
            "staff": staff,
            "caseloads": caseloads(session, team.id),
            "rules_text": rules_text,
            "can_edit": is_supervisor(user.principal),
            "notice": DONE.get(done or ""),
        },
    )


# ------------------------------------------------------------ the form


def _values_of(staff: Staff | None) -> dict:
    """A person's stored fields as the form shows them."""
    if staff is None:
        return {
            "name": "",
            "phone": "",
            "role": StaffRole.CASE_MANAGER,
            "language": "",
            "languages_spoken": [],
            "rules": [
                {"channel": r["channel"], "after_seconds": str(r["after_seconds"])}
                for r in notify_rules.DEFAULT_RULES
            ],
            "hours": [],
        }
    return {
        "name": staff.name,
        "phone": staff.phone,
        "role": staff.role,
        "language": staff.language,
        "languages_spoken": list(staff.languages_spoken or []),
        "rules": [
            {"channel": r.channel, "after_seconds": str(r.after_seconds)}
            for r in notify_rules.parse(staff.notify_rules)
        ],
        "hours": [
            {
                "days": list(w.get("days") or []),
                "start": w.get("start", ""),
                "end": w.get("end", ""),
            }
            for w in staff.working_hours or []
        ],
    }


async def _posted(request: Request) -> dict:
    """The posted form as the page shows it again; rule rows left blank are
    dropped so the rows kept are numbered as the schema numbers them."""
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    rules = []
    for i in range(RULE_ROWS):
        channel, after = text(f"rule-{i}-channel"), text(f"rule-{i}-after_seconds")
        if channel or after:
            rules.append({"channel": channel, "after_seconds": after})
    hours = []
    for i in range(HOURS_ROWS):
        days = [d for d in form.getlist(f"hours-{i}-days") if isinstance(d, str)]
        start, end = text(f"hours-{i}-start"), text(f"hours-{i}-end")
        if days or start or end:
            hours.append({"days": days, "start": start, "end": end})
    return {
        "hours": hours,
        "hours_shown": "hours_shown" in form,
        "name": text("name"),
        "phone": text("phone"),
        "role": text("role"),
        "language": text("language"),
        "languages_spoken": [v for v in form.getlist("languages_spoken") if isinstance(v, str)],
        "rules": rules,
        "rules_shown": "rules_shown" in form,
    }


def _schema_data(values: dict) -> dict:
    """The form's values as the API's JSON body would carry them."""
    data: dict = {
        "name": values["name"],
        "phone": values["phone"],
        "role": values["role"] or None,
        "language": values["language"] or None,
        "languages_spoken": values["languages_spoken"],
    }
    if values["hours_shown"]:
        data["working_hours"] = [
            {"days": h["days"], "start": h["start"] or None, "end": h["end"] or None}
            for h in values["hours"]
        ]
    if values["rules_shown"]:
        data["notify_rules"] = [
            {"channel": r["channel"] or None, "after_seconds": r["after_seconds"] or None}
            for r in values["rules"]
        ]
    return data


def _form(
    request,
    *,
    staff: Staff | None,
    values: dict,
    mode: str,
    errors=None,
    blocking=None,
    notice=None,
    status=200,
):
    """`mode`: "full" (a supervisor), "rules" (a person's own rules) or "read"."""
    rows = list(values["rules"])
    rows += [{"channel": "", "after_seconds": ""}] * max(0, RULE_ROWS - len(rows))
    hours = list(values["hours"])
    hours += [{"days": [], "start": "", "end": ""}] * max(0, HOURS_ROWS - len(hours))
    return render(
        request,
        "console/staff_form.html",
        {
            "staff": staff,
            "values": values,
            "rule_rows": rows,
            "hours_rows": hours,
            "days": DAYS,
            "errors": errors or {},
            "blocking": blocking or [],
            "notice": notice,
            "mode": mode,
            "roles": ROLES,
            "channels": CHANNELS,
            "languages": languages(),
            "max_after": notify_rules.MAX_AFTER_SECONDS,
            "rules_text": rules_text,
        },
        status_code=status,
    )


def _mode(principal: Principal, staff: Staff | None) -> str:
    if is_supervisor(principal):
        return "full"
    return "rules" if staff is not None and principal.staff_id == staff.id else "read"


@router.get("/people/new", response_class=HTMLResponse)
def new_staff_form(request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, Role.SUPERVISOR)
    team_of(session, user.principal)
    return _form(request, staff=None, values=_values_of(None), mode="full")


@router.post("/people", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def create_staff(request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, Role.SUPERVISOR)
    team = team_of(session, user.principal)
    values = await _posted(request)
    data = _schema_data(values)
    if not data.get("notify_rules") or data["notify_rules"] == _DEFAULT_ROWS:
        # None given, or the defaults the form starts with: stored as the
        # default (as an API create without rules), not as a copy of it.
        data.pop("notify_rules", None)
    try:
        body = StaffCreate.model_validate(data)
        staff = staff_changes.add_staff(
            session=session, principal=user.principal, team=team, data=body.model_dump()
        )
    except (ValidationError, AppError) as exc:
        session.rollback()
        errors, blocking, status = _refusal(exc, data)
        return _form(
            request,
            staff=None,
            values=values,
            mode="full",
            errors=errors,
            blocking=blocking,
            status=status,
        )
    session.commit()
    return redirect(f"/console/people/{staff.id}?done=created", request)


def _refusal(exc: Exception, data: dict) -> tuple[dict[str, str], list[str], int]:
    if isinstance(exc, ValidationError):
        return form_errors.from_validation(exc, data), [], 422
    assert isinstance(exc, AppError)
    errors, blocking = form_errors.from_app_error(exc)
    return errors, blocking, exc.status_code


def _staff(session: Session, principal: Principal, staff_id: int) -> Staff:
    return load_owned(session, principal, Staff, staff_id, what="staff member")


@router.get("/people/{staff_id}", response_class=HTMLResponse)
def staff_page(
    staff_id: int, request: Request, session: SessionDep, user: ConsoleUser, done: str | None = None
):
    require_role(user.principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    staff = _staff(session, user.principal, staff_id)
    return _form(
        request,
        staff=staff,
        values=_values_of(staff),
        mode=_mode(user.principal, staff),
        notice=DONE.get(done or ""),
    )


def _changed(staff: Staff, data: dict) -> dict:
    """Only the fields the form changes, so the audit row names what changed."""
    stored = {
        "name": staff.name,
        "phone": staff.phone,
        "role": staff.role,
        "language": staff.language,
        "languages_spoken": list(staff.languages_spoken or []),
        "working_hours": list(staff.working_hours or []),
    }
    changed = {k: v for k, v in data.items() if k not in stored or stored[k] != v}
    if "notify_rules" in changed and [
        r.to_json() for r in notify_rules.parse(staff.notify_rules)
    ] == sorted(changed["notify_rules"], key=lambda r: (r["after_seconds"], r["channel"])):
        del changed["notify_rules"]
    return changed


@router.post("/people/{staff_id}", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def edit_staff(
    staff_id: int, request: Request, runtime: RuntimeDep, session: SessionDep, user: ConsoleUser
):
    principal = user.principal
    require_role(principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    staff = _staff(session, principal, staff_id)
    mode = _mode(principal, staff)
    values = await _posted(request)
    data = _schema_data(values)
    if mode != "full":
        data = {k: v for k, v in data.items() if k in staff_changes.SELF_EDITABLE}
    if not staff_changes.may_edit_alone(principal, staff.id, data):
        require_role(principal, Role.SUPERVISOR)
    if not data.get("language"):
        data.pop("language", None)  # the form offers no "none": keep theirs
    try:
        body = StaffUpdate.model_validate(data)
        staff_changes.change_staff(
            session=session,
            principal=principal,
            staff=staff,
            data=_changed(staff, body.model_dump(exclude_unset=True)),
            now=now_of(request),
            settings=runtime.settings,
        )
    except (ValidationError, AppError) as exc:
        session.rollback()
        errors, blocking, status = _refusal(exc, data)
        shown = {
            **_values_of(staff),
            **{k: v for k, v in values.items() if k in data or k == "rules"},
            **({"hours": values["hours"]} if mode == "full" else {}),
        }
        return _form(
            request,
            staff=staff,
            values=shown,
            mode=mode,
            errors=errors,
            blocking=blocking,
            status=status,
        )
    session.commit()
    return redirect(f"/console/people/{staff.id}?done=saved", request)


@router.post("/people/{staff_id}/active", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def set_active(
    staff_id: int, request: Request, runtime: RuntimeDep, session: SessionDep, user: ConsoleUser
):
    """Deactivate (refused, listing what they still hold) or reactivate."""
    require_role(user.principal, Role.SUPERVISOR)
    staff = _staff(session, user.principal, staff_id)
    form = await request.form()
    active = form.get("active") == "true"
    try:
        staff_changes.change_staff(
            session=session,
            principal=user.principal,
            staff=staff,
            data={"active": active},
            now=now_of(request),
            settings=runtime.settings,
        )
    except AppError as exc:
        session.rollback()
        errors, blocking = form_errors.from_app_error(exc)
        return _form(
            request,
            staff=staff,
            values=_values_of(staff),
            mode="full",
            errors=errors,
            blocking=blocking,
            status=exc.status_code,
        )
    session.commit()
    return redirect(
        f"/console/people/{staff.id}?done={'activated' if active else 'deactivated'}", request
    )
