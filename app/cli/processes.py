"""`crisisroute serve` and `crisisroute worker`: the processes of an instance."""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import signal
import tempfile
import threading
from enum import Enum

import structlog
import typer
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from app import migrations
from app.commands import open_database, settings_or_exit
from app.logs import configure_logging
from app.ops.worker_process import WorkerProcess


def serve(
    host: str = typer.Option("127.0.0.1", help="interface to bind"),
    port: int = typer.Option(8000, help="port"),
    workers_off: bool = typer.Option(
        False,
        "--no-worker",
        help="do not run the worker (routing, escalation, sends) beside this server",
    ),
    allow_old_schema: bool = typer.Option(
        False,
        "--allow-old-schema",
        help="serve even when the database is not at the migrations' head",
    ),
) -> None:
    """Run the HTTP service and, by default, the worker as a child process."""
    _share_metrics_between_processes()
    # Only now: prometheus_client reads its directory when it loads, and the web app loads it.
    from app.main import create_app

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    log = structlog.get_logger("crisisroute.serve")
    database = open_database(settings)
    try:
        if migrations.is_empty(database.engine):
            migrations.upgrade(database.engine)
            log.info("database_created", revision=migrations.head_revision())
        elif not migrations.is_at_head(database.engine):
            schema = {
                "revision": migrations.current_revision(database.engine),
                "head": migrations.head_revision(),
            }
            if not allow_old_schema:
                # Code that expects columns the database lacks fails on the
                # first text at 3 a.m.; refusing at start fails where someone
                # is looking.
                log.error(
                    "schema_behind_head",
                    **schema,
                    hint="run `crisisroute db upgrade`, or start with --allow-old-schema",
                )
                raise typer.Exit(2)
            log.warning("schema_behind_head_allowed", **schema)
    except SQLAlchemyError as exc:
        # Serve anyway: /twilio/fallback needs no database and the webhooks
        # answer 503 at once, so Twilio keeps the line answered through its
        # fallback URL until the database is back (/readyz says 503 meanwhile).
        log.error(
            "database_unreachable_at_start",
            error=type(exc).__name__,
            hint="serving the fallback URL; webhooks answer 503 until it is back",
        )
    app = create_app(settings, db=database, run_worker=False, configure_logs=False)
    # Routing (decides, queues) and sending (waits on Twilio) in processes of
    # their own: on SQLite the router holds the file's write lock while it
    # routes a text, and every webhook waits for it; sending threads beside
    # it in one interpreter stretched that hold (the GIL) several-fold.
    routers = settings.worker_processes if not settings.is_sqlite else 1
    roles = ["route"] * routers + ["send"]
    workers = (
        [WorkerProcess(role).start() for role in roles]
        if settings.run_worker and not workers_off
        else []
    )
    # Everything imported so far lives as long as the process: keep the
    # collector from walking it again on every full collection.
    gc.freeze()
    try:
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
    finally:
        for worker in workers:
            worker.stop()


def _share_metrics_between_processes() -> None:
    """The web process and its worker child each count; /metrics reports
    both (prometheus_client's multiprocess mode, files in a private
    directory made before the first metric exists)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    directory = tempfile.mkdtemp(prefix="crisisroute-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)


class WorkerRole(str, Enum):
    all = "all"
    route = "route"
    send = "send"


def worker(
    parent_pid: int | None = typer.Option(
        None, "--parent-pid", hidden=True, help="exit when this process is gone (set by serve)"
    ),
    role: WorkerRole = typer.Option(
        WorkerRole.all,
        "--role",
        help="all: everything below; route: route texts, escalation tick, notices (queues messages); "
        "send: the outbox dispatcher (sends what is queued). serve runs one of each.",
    ),
) -> None:
    """Run only the worker: route recorded texts, escalation tick, outbox dispatcher, notices (no HTTP)."""
    # Here, not above: loading them loads prometheus_client, which serve must configure first.
    from app.jobs import Scheduler, declared_jobs
    from app.runtime import build_runtime

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    database = open_database(settings, background=True)  # webhooks first on a shared SQLite file
    if parent_pid is None and migrations.is_empty(database.engine):
        migrations.upgrade(database.engine)
    runtime = build_runtime(settings, database)
    if role is not WorkerRole.send:
        # The language model loads in ~2 s: before the first text, not during it.
        from app.inbound.language import warm_up

        warm_up()
    if role is WorkerRole.route:
        runtime.dispatcher.leave_sending_to_another_process()
    elif role is WorkerRole.send:
        runtime.dispatcher.start_sending_in_background(poll_seconds=settings.inbox_poll_seconds)
    else:
        runtime.dispatcher.start_sending_in_background()

    scheduler = Scheduler(runtime, declared_jobs(settings, role=role.value))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if parent_pid is None:
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    else:
        # Ctrl-C reaches the whole process group: the parent decides when we stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # Beside serve, answering Twilio comes first: when both want the CPU
        # the webhook (a millisecond) goes before routing (many). On SQLite
        # the webhook no longer waits for a lock the router holds (it writes
        # the landing file), so a preempted router delays no webhook: 10, not 5.
        os.nice(10)
    gc.freeze()
    scheduler.start()
    structlog.get_logger("crisisroute.worker").info(
        "worker_started", role=role.value, beside_serve=parent_pid is not None
    )
    while not stop.wait(1.0):
        if parent_pid is not None and os.getppid() != parent_pid:
            break  # serve was killed: do not outlive it
    scheduler.stop()
    runtime.close()
