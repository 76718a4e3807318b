"""The console's HTTP plumbing: templates, cookies, CSRF, security headers
and the signed-in principal. Pages live in app/console/router.py (and the
routers beside it); this module decides nothing about contacts or people.

Dependencies for page routes:
- `ConsoleUser` (`SignedIn`): the request's session, or a redirect to the
  sign-in page (`HX-Redirect` for htmx requests). `.principal` is the same
  `Principal` an API key gives, so `require_role`, `check_team`,
  `load_owned` and app.auth.access decide pages exactly as they decide API calls.
- `ConsolePoller`: the same, for automatic polling (does not keep an idle
  session alive).
- `CsrfChecked`: add to every POST route (`dependencies=[CsrfChecked]`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from app.auth.deps import SessionDep
from app.auth.models import Role
from app.auth.sessions import SignedIn, resolve_session
from app.messaging.texts import media_kind
from app.runtime import runtime_of

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"

SESSION_COOKIE = "cr_session"
CSRF_COOKIE = "cr_csrf"
SIGN_IN_COOKIE = "cr_signin"
COOKIE_PATH = "/console"

# No inline script or style anywhere: htmx is configured by a <meta> tag and
# attributes, and its indicator <style> is switched off in that config.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


def _age(value: datetime | None, now: datetime) -> str:
    if value is None:
        return ""
    seconds = max(0, int((now - value).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d"


def _local(value: datetime | None, zone: str | None = None, fmt: str = "%a %d %b %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone) if zone else None).strftime(fmt)


def _media_label(item: dict) -> str:
    """`the photo`, `the PDF file`: an attachment as a link names it."""
    kind = media_kind(str(item.get("content_type") or ""), "en")
    return "the " + kind.split(" ", 1)[1] if kind.startswith(("a ", "an ")) else kind


# The console's pages in the nav, and who sees each link (admins see all).
# A page still checks its own roles; this only hides links that would 403.
NAV: list[tuple[str, str, tuple[str, ...]]] = [
    ("/console", "Board", (Role.SUPERVISOR, Role.CASE_MANAGER)),
    ("/console/oncall", "On call", (Role.SUPERVISOR, Role.CASE_MANAGER)),
    ("/console/people", "People", (Role.SUPERVISOR, Role.CASE_MANAGER)),
    ("/console/review", "Review", (Role.SUPERVISOR,)),
    ("/console/reports", "Reports", (Role.SUPERVISOR,)),
    ("/console/audit", "Audit", (Role.SUPERVISOR,)),
]


def nav_items(user: SignedIn) -> list[tuple[str, str]]:
    principal = user.principal
    return [
        (href, label) for href, label, roles in NAV if principal.is_admin or principal.role in roles
    ]


def _build_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,  # every page: user-entered text is never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["age"] = _age
    env.filters["local"] = _local
    env.globals["nav_items"] = nav_items
    env.globals["media_label"] = _media_label
    return Jinja2Templates(env=env)


templates = _build_templates()


def secure_cookies(request: Request) -> bool:
    return runtime_of(request).settings.public_base_url.startswith("https://")


def set_cookie(
    request: Request,
    response,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    path: str = COOKIE_PATH,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


def clear_cookie(request: Request, response, name: str, *, path: str = COOKIE_PATH) -> None:
    response.delete_cookie(
        name, path=path, httponly=True, samesite="lax", secure=secure_cookies(request)
    )


def _secret(request: Request) -> str:
    return runtime_of(request).settings.signing_secret


def csrf_token(request: Request) -> str:
    """Bound to this browser's CSRF cookie and to its session, so a token
    taken from one browser or from before sign-in is refused after it."""
    seed = request.scope.get("state", {}).get("csrf_seed") or ""
    session_token = request.cookies.get(SESSION_COOKIE, "")
    message = f"csrf:{seed}:{hashlib.sha256(session_token.encode()).hexdigest()}"
    return hmac.new(_secret(request).encode(), message.encode(), hashlib.sha256).hexdigest()


class CsrfRefused(Exception):
    pass


async def check_csrf(request: Request) -> None:
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    seed = request.cookies.get(CSRF_COOKIE)
    if not sent or not seed or not hmac.compare_digest(sent, csrf_token(request)):
        raise CsrfRefused()


CsrfChecked = Depends(check_csrf)


class SignInRequired(Exception):
    pass


def now_of(request: Request) -> datetime:
    return runtime_of(request).now()


def _signed_in(request: Request, session: Session, *, touch: bool) -> SignedIn:
    signed_in = resolve_session(
        session=session,
        token=request.cookies.get(SESSION_COOKIE),
        now=now_of(request),
        touch=touch,
    )
    if signed_in is None:
        raise SignInRequired()
    request.state.signed_in = signed_in
    return signed_in


def console_user(request: Request, session: SessionDep) -> SignedIn:
    return _signed_in(request, session, touch=True)


def console_poller(request: Request, session: SessionDep) -> SignedIn:
    return _signed_in(request, session, touch=False)


ConsoleUser = Annotated[SignedIn, Depends(console_user)]
ConsolePoller = Annotated[SignedIn, Depends(console_poller)]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page or partial: the template gets `request`, `csrf_token`, `user`
    (the SignedIn or None), `now` and whatever `context` adds."""
    values = {
        "request": request,
        "csrf_token": csrf_token(request),
        "user": getattr(request.state, "signed_in", None),
        "now": now_of(request),
    }
    values.update(context or {})
    return templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=headers
    )


def redirect(url: str, request: Request | None = None) -> HTMLResponse | RedirectResponse:
    """303 after a form post; for htmx, HX-Redirect (it follows no 303 page)."""
    if request is not None and request.headers.get("hx-request"):
        return HTMLResponse("", headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


class ConsoleHeaders:
    """Plain ASGI middleware for /console: the CSRF cookie (made on a
    browser's first visit), the CSP and, on pages (not static assets),
    `Cache-Control: no-store` since they carry client data."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/console" or path.startswith("/console/")):
            await self.app(scope, receive, send)
            return
        static = path.startswith("/console/static/")
        new_seed = None
        if not static:
            seed = _cookie(scope, CSRF_COOKIE)
            if not seed:
                seed = new_seed = secrets.token_urlsafe(32)
            scope.setdefault("state", {})["csrf_seed"] = seed

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                    headers.append((b"x-frame-options", b"DENY"))
                if new_seed:
                    secure = "; Secure" if scope.get("scheme") == "https" or _https(scope) else ""
                    headers.append(
                        (
                            b"set-cookie",
                            f"{CSRF_COOKIE}={new_seed}; Path={COOKIE_PATH}; HttpOnly; "
                            f"SameSite=Lax{secure}".encode(),
                        )
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _https(scope) -> bool:
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return bool(settings and settings.public_base_url.startswith("https://"))


def _cookie(scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                cookie_name, _, cookie_value = part.strip().partition("=")
                if cookie_name == name and cookie_value:
                    return cookie_value
    return None
