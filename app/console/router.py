"""Console pages: sign-in, the board, a contact."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.auth.deps import SessionDep, require_role
from app.auth.models import Role
from app.auth.service import find_key
from app.auth.sessions import resolve_session, revoke_session, start_session
from app.auth.sign_in import CodeRefused, TooManyRequests, check_code, request_code
from app.console import web
from app.console.audit_page import router as audit_router
from app.console.board import board
from app.console.client_plan_page import router as client_plan_router
from app.console.clients_page import router as clients_router
from app.console.contact_page import router as contact_router
from app.console.oncall_page import router as oncall_router
from app.console.people_page import router as people_router
from app.console.reports_page import router as reports_router
from app.console.review_page import router as review_router
from app.console.rota_page import router as rota_router
from app.console.web import (
    ConsolePoller,
    ConsoleUser,
    CsrfChecked,
    CsrfRefused,
    SignInRequired,
    now_of,
    redirect,
    render,
)
from app.errors import AppError, Invalid
from app.runtime import RuntimeDep
from app.teams.phones import parse_phone

_TITLES = {
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    409: "That cannot be done now",
    422: "Something in the request is not valid",
}

router = APIRouter(prefix="/console", include_in_schema=False)

# ---------------------------------------------------------------- sign-in


def _field_errors(exc: AppError) -> dict[str, str]:
    """Invalid/422 details as {field: message} for showing next to fields."""
    errors: dict[str, str] = {}
    if isinstance(exc.detail, list):
        for item in exc.detail:
            loc = item.get("loc") or []
            errors[str(loc[-1]) if loc else "form"] = item.get("msg", "is not valid")
    else:
        errors["form"] = str(exc.detail)
    return errors


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: SessionDep):
    if resolve_session(
        session=session,
        token=request.cookies.get(web.SESSION_COOKIE),
        now=now_of(request),
        touch=False,
    ):
        return redirect("/console")
    return render(request, "console/login.html", {"step": "phone", "errors": {}, "phone": ""})


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def login(request: Request, runtime: RuntimeDep, session: SessionDep):
    """One endpoint for the three forms: `phone` asks for a code, `code`
    checks it, `api_key` signs an admin in."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    now = now_of(request)
    secret = runtime.settings.signing_secret
    if "code" in values:
        try:
            staff_id = check_code(
                session=session,
                attempt_token=request.cookies.get(web.SIGN_IN_COOKIE),
                code=values["code"],
                now=now,
                secret=secret,
            )
        except CodeRefused as exc:
            session.commit()  # a wrong try counts
            return render(
                request,
                "console/login.html",
                {"step": "code", "errors": {"code": exc.message}, "phone": ""},
                status_code=422,
            )
        return _signed_in(
            request, session, start_session(session=session, now=now, staff_id=staff_id)
        )
    if "api_key" in values:
        row = find_key(session=session, key=values["api_key"].strip(), now=now)
        if row is None or row.role != Role.ADMIN:
            return render(
                request,
                "console/login.html",
                {
                    "step": "phone",
                    "phone": "",
                    "errors": {
                        "api_key": "Not a working admin key. Staff sign in with their phone."
                    },
                },
                status_code=422,
            )
        return _signed_in(
            request, session, start_session(session=session, now=now, api_key_id=row.id)
        )
    phone_text = values.get("phone", "").strip()
    try:
        if not phone_text:
            raise Invalid("phone", "Enter the mobile number you are on the rota with.")
        phone = parse_phone(phone_text, "US", "phone")
    except Invalid as exc:
        return render(
            request,
            "console/login.html",
            {"step": "phone", "errors": _field_errors(exc), "phone": phone_text},
            status_code=422,
        )
    address = request.client.host if request.client else "unknown"
    try:
        requested = request_code(
            session=session, phone=phone, address=address, now=now, secret=secret
        )
    except TooManyRequests as exc:
        minutes = max(1, int(exc.retry_after.total_seconds() + 59) // 60)
        return render(
            request,
            "console/login.html",
            {
                "step": "phone",
                "phone": phone_text,
                "errors": {"phone": f"{exc.message} (about {minutes} min)"},
            },
            status_code=429,
            headers={"Retry-After": str(minutes * 60)},
        )
    session.commit()
    response = render(request, "console/login.html", {"step": "code", "errors": {}, "phone": ""})
    web.set_cookie(
        request,
        response,
        web.SIGN_IN_COOKIE,
        requested.attempt_token,
        max_age=600,
        path="/console/login",
    )
    return response


def _signed_in(request: Request, session: Session, token: str):
    session.commit()
    response = redirect("/console")
    web.set_cookie(request, response, web.SESSION_COOKIE, token)
    web.clear_cookie(request, response, web.SIGN_IN_COOKIE, path="/console/login")
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, session: SessionDep, user: ConsoleUser):
    revoke_session(session=session, session_id=user.session_id, now=now_of(request))
    session.commit()
    response = redirect("/console/login", request)
    web.clear_cookie(request, response, web.SESSION_COOKIE)
    return response


# ------------------------------------------------------------------ board


@router.get("", response_class=HTMLResponse)
def board_page(request: Request, session: SessionDep, user: ConsoleUser):
    require_role(user.principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    rows = board(session=session, principal=user.principal)
    return render(request, "console/board.html", {"rows": rows})


@router.get("/board", response_class=HTMLResponse)
def board_rows(request: Request, session: SessionDep, user: ConsolePoller):
    """The board's live part, polled by the page."""
    require_role(user.principal, Role.SUPERVISOR, Role.CASE_MANAGER)
    rows = board(session=session, principal=user.principal)
    return render(request, "console/partials/board_rows.html", {"rows": rows})


# --------------------------------------------------------- errors, static


def install(app: FastAPI) -> None:
    """Mount the console: static assets, pages and its error pages."""
    app.mount("/console/static", StaticFiles(directory=web.STATIC_DIR), name="console-static")
    app.include_router(router)
    app.include_router(contact_router)
    app.include_router(review_router)
    app.include_router(audit_router)
    app.include_router(oncall_router)
    app.include_router(people_router)
    app.include_router(clients_router)
    app.include_router(client_plan_router)
    app.include_router(rota_router)
    app.include_router(reports_router)
    app.add_middleware(web.ConsoleHeaders)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired):
        return redirect("/console/login", request)

    # The API's errors answer JSON; under /console the same errors are a page.
    for error_class in (AppError, RequestValidationError, StarletteHTTPException):
        _html_under_console(app, error_class)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused):
        return render(
            request,
            "console/error.html",
            {
                "title": "This form has expired",
                "message": "Reload the page and try again.",
            },
            status_code=403,
        )


def _html_under_console(app: FastAPI, error_class: type[Exception]) -> None:
    # The JSON handlers installed by app.errors are all coroutines.
    json_handler = cast(
        Callable[[Request, Exception], Awaitable[Response]], app.exception_handlers[error_class]
    )

    async def handler(request: Request, exc: Exception):
        path = request.url.path
        if not (path == "/console" or path.startswith("/console/")) or path.startswith(
            "/console/static/"
        ):
            return await json_handler(request, exc)
        status = 422 if isinstance(exc, RequestValidationError) else exc.status_code  # type: ignore[attr-defined]
        detail = getattr(exc, "detail", None)
        message = detail if isinstance(detail, str) else "Check the address and try again."
        return render(
            request,
            "console/error.html",
            {"title": _TITLES.get(status, "Something went wrong"), "message": message},
            status_code=status,
        )

    app.add_exception_handler(error_class, handler)
