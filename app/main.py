"""The FastAPI app factory and its lifespan."""

from __future__ import annotations

from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

import app.models as _all_tables  # noqa: F401  (every table and the contact listeners)
from app.auth.router import router as auth_router
from app.clients.router import router as clients_router
from app.console.docs import install_docs
from app.console.plan_page import router as plan_page_router
from app.console.router import install as install_console
from app.contacts.router import router as contacts_router
from app.db import Database
from app.errors import install_error_handlers
from app.inbound.router import router as inbound_router
from app.jobs import Scheduler, declared_jobs
from app.logs import configure_logging
from app.oncall.calendar_router import router as calendar_router
from app.oncall.router import router as oncall_router
from app.ops.middleware import RequestContextMiddleware
from app.ops.rate_limits import RateLimiter
from app.ops.router import router as ops_router
from app.ops.web_headers import WebHeadersMiddleware
from app.outcomes.router import router as outcomes_router
from app.reports.router import router as reports_router
from app.runtime import build_runtime
from app.settings import Settings, get_settings
from app.teams.router import router as teams_router
from app.twilio.page import router as page_router
from app.twilio.router import router as twilio_router
from app.twilio.voice import router as voice_router

log = structlog.get_logger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    run_worker: bool | None = None,
    configure_logs: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(settings.log_level)
    db = db or Database.from_url(settings.database_url)
    run_worker = settings.run_worker if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        scheduler = Scheduler(app.state.runtime, declared_jobs(settings, worker=run_worker))
        scheduler.start()
        log.info("started", transport=settings.messaging_transport, worker_in_process=run_worker)
        try:
            yield
        finally:
            scheduler.stop()
            await db.close_on_loop()
            app.state.runtime.close()

    app = FastAPI(
        title="crisisroute",
        version="0.1.0",
        description="24/7 crisis on-call routing for Intensive Case Management programs.",
        lifespan=lifespan,
        # Served from vendored assets by install_docs (no CDN).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.runtime = build_runtime(settings, db)
    app.state.rate_limiter = RateLimiter.from_settings(settings)
    install_error_handlers(app)
    app.add_middleware(WebHeadersMiddleware, max_request_bytes=settings.max_request_bytes)
    app.add_middleware(RequestContextMiddleware)
    # Twilio's webhooks first: routes are matched in order, and matching every
    # API route before reaching /twilio/sms would be a sizeable share of a
    # webhook's CPU (benchmarks/README.md, "Measured choices").
    for router in (
        twilio_router,
        voice_router,
        page_router,
        ops_router,
        auth_router,
        teams_router,
        inbound_router,
        clients_router,
        plan_page_router,
        oncall_router,
        calendar_router,
        contacts_router,
        outcomes_router,
        reports_router,
    ):
        app.include_router(router)
    install_console(app)
    install_docs(app)
    return app


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory app.main:app_factory`."""
    return create_app()
