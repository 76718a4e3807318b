"""One ASGI middleware for what every response must carry, and the body cap.

- Request bodies past MAX_REQUEST_BYTES are refused with 413 before the app
  reads them (by Content-Length, or while a chunked body streams in).
- `Cache-Control: no-store` on every API response (they carry client data),
  on calendars and on HTML pages, unless the route set its own.
- Every HTML page: a Content-Security-Policy, `X-Frame-Options: DENY`,
  `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`
  (the console's pages get the same from the console's own middleware).
"""

from __future__ import annotations

import json

# Pages are server-rendered with their assets served by the app itself; inline
# styles are allowed (the plan page's one <style> block), inline scripts not.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# /docs and /redoc (vendored assets) start their UI with an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
# The console's own middleware (app.console.web.ConsoleHeaders) sets its
# pages' CSP, frame and cache headers, with its CSRF cookie.
CONSOLE_PREFIX = "/console"


class WebHeadersMiddleware:
    def __init__(self, app, *, max_request_bytes: int):
        self.app = app
        self.max_request_bytes = max_request_bytes

    async def _refuse_too_large(self, send) -> None:
        body = json.dumps(
            {"detail": f"request body too large: at most {self.max_request_bytes} bytes"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _read_chunked(receive, limit: int):
        """A body without Content-Length, read here up to the cap: a receive
        that replays it, or None when it is too large."""
        messages, received = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > limit:
                return None
            if not message.get("more_body", False):
                break
        replay = iter(messages)

        async def replayed():
            return next(replay, None) or await receive()

        return replayed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_request_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_large = int(value) > limit
                except ValueError:
                    too_large = False  # the server refuses a malformed length itself
                if too_large:
                    await self._refuse_too_large(send)
                    return
                break
        else:
            if scope.get("method") in ("POST", "PUT", "PATCH"):
                receive = await self._read_chunked(receive, limit)
                if receive is None:
                    await self._refuse_too_large(send)
                    return
        path = scope.get("path", "")
        if path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        is_api = path.startswith("/v1/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                content_type = next(
                    (v for n, v in headers if n.lower() == b"content-type"), b""
                ).lower()
                is_html = content_type.startswith(b"text/html")
                if (
                    is_api or is_html or content_type.startswith(b"text/calendar")
                ) and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                if is_html:
                    csp = DOCS_CSP if path in DOCS_PATHS else PAGE_CSP
                    for name, value in (
                        (b"content-security-policy", csp.encode()),
                        (b"x-frame-options", b"DENY"),
                        (b"x-content-type-options", b"nosniff"),
                        (b"referrer-policy", b"no-referrer"),
                    ):
                        if name not in names:
                            headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
