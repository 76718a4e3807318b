"""Health, readiness and metrics."""

from __future__ import annotations

import os

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from sqlalchemy import text

from app import migrations
from app.runtime import RuntimeDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict:
    """The process is up (says nothing about the database)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """The database answers and its schema is at the migrations' head."""
    try:
        with runtime.db.sessionmaker() as session:
            connection = session.connection()
            connection.execute(text("SELECT 1"))
            at_head = migrations.connection_is_at_head(connection)
    except Exception as exc:  # any database failure means "not ready"
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__}, status_code=503
        )
    if not at_head:
        return JSONResponse(
            {"status": "unavailable", "database": "migrations not at head"}, status_code=503
        )
    return JSONResponse({"status": "ready"})


@router.get("/metrics")
def metrics() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # `serve` with its worker child: the sum over both processes.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
