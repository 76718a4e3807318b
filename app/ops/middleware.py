"""Request id, access log and metrics as a plain ASGI middleware (cheaper on
the webhook's hot path than BaseHTTPMiddleware)."""

from __future__ import annotations

import time
import uuid

import structlog

from app.ops.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = structlog.get_logger("crisisroute.http")


class RequestContextMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            route_name = getattr(route, "path", "unmatched")
            status = status_holder["status"]
            HTTP_REQUESTS.labels(scope["method"], route_name, str(status)).inc()
            HTTP_LATENCY.labels(route_name).observe(elapsed)
            # The path only (never the query string, which may carry numbers).
            log.info(
                "request",
                method=scope["method"],
                route=route_name,
                status=status,
                ms=round(elapsed * 1000, 2),
                request_id=request_id,
            )
