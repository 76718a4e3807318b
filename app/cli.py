"""The `crisisroute` command."""

from __future__ import annotations

import signal
import threading
from enum import Enum

import typer

from app.settings import SettingsError, load_settings

cli = typer.Typer(help="crisisroute: 24/7 crisis on-call routing.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_cli = typer.Typer(help="API keys.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(keys_cli, name="keys")


def _register_data_commands() -> None:
    from app.clients.cli import export_cli, import_cli

    cli.add_typer(import_cli, name="import")
    cli.add_typer(export_cli, name="export")


def _register_console_commands() -> None:
    from app.console.cli import console_cli

    cli.add_typer(console_cli, name="console")


def _register_key_commands() -> None:
    from app.auth.cli import register

    register(keys_cli)


def _register_purge_command() -> None:
    from app.contacts.cli import purge

    cli.command("purge")(purge)


def _settings():
    try:
        return load_settings()
    except SettingsError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def _database(settings, *, background: bool = False):
    from app.db import Database

    return Database.from_url(settings.database_url, background=background)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Run the migrations to head."""
    from app import migrations

    settings = _settings()
    database = _database(settings)
    migrations.upgrade(database.engine)
    typer.echo(f"database at {migrations.current_revision(database.engine)} (head)")


@keys_cli.command("create")
def keys_create(
    role: str = typer.Option(..., help="admin, supervisor or case_manager"),
    name: str = typer.Option(..., help="who or what holds the key"),
    team: int | None = typer.Option(None, help="team id (required for non-admin roles)"),
    staff: int | None = typer.Option(None, help="staff id the key belongs to"),
) -> None:
    """Create an API key and print it once."""
    import app.models  # noqa: F401
    from app import migrations
    from app.auth.service import CLI, audit, create_key
    from app.errors import AppError

    settings = _settings()
    database = _database(settings)
    if migrations.is_empty(database.engine):
        migrations.upgrade(database.engine)
    try:
        with database.session() as session:
            row, key = create_key(
                session=session, name=name, role=role, team_id=team, staff_id=staff
            )
            audit(
                session=session,
                principal=CLI,
                action="api_key.create",
                record_type="api_key",
                record_id=row.id,
                team_id=team,
                detail={"role": role},
            )
    except AppError as exc:
        typer.secho(f"error: {exc.detail}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(key)


@cli.command()
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
    import gc

    import structlog
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from app import migrations
    from app.logs import configure_logging
    from app.main import create_app
    from app.ops.worker_process import WorkerProcess

    settings = _settings()
    configure_logging(settings.log_level)
    log = structlog.get_logger("crisisroute.serve")
    database = _database(settings)
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
    import atexit
    import os
    import shutil
    import tempfile

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    directory = tempfile.mkdtemp(prefix="crisisroute-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)


class WorkerRole(str, Enum):
    all = "all"
    route = "route"
    send = "send"


@cli.command()
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
    import gc
    import os

    import structlog

    from app import migrations
    from app.jobs import Scheduler, declared_jobs
    from app.logs import configure_logging
    from app.runtime import build_runtime

    settings = _settings()
    configure_logging(settings.log_level)
    database = _database(settings, background=True)  # webhooks first on a shared SQLite file
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


@cli.command()
def demo() -> None:
    """Seed a demo team, staff, rotas and a client, and print what to try."""
    from app import migrations
    from app.demo import (
        DEMO_LINE,
        DEMO_SPANISH_CLIENT_PHONE,
        DEMO_SPANISH_STAFF_PHONE,
        DEMO_SUPERVISOR_PHONE,
        ensure_dev_token,
        seed,
    )

    token = ensure_dev_token()
    if token:
        typer.echo("wrote a local TWILIO_AUTH_TOKEN to .env so simulated webhooks can be signed")
        get_settings_cache_clear()
    settings = _settings()
    database = _database(settings)
    if migrations.is_empty(database.engine):
        migrations.upgrade(database.engine)
    with database.session() as session:
        team, key = seed(session)
    if key is None:
        typer.echo(f"demo team already present (id {team.id})")
    else:
        typer.echo(f"demo team {team.id} created; supervisor API key (shown once): {key}")
    typer.echo(
        "\nTry, with the server running (crisisroute serve):\n"
        f"  crisisroute simulate sms --from +12015550150 --to {DEMO_LINE} --body 'I need to talk'\n"
        "  then reply as the staff member the [notify] line names, e.g.\n"
        f"  crisisroute simulate sms --from <their number> --to {DEMO_LINE} --body 'On my way'\n"
        f"  curl -H 'Authorization: Bearer <key>' {settings.public_base_url}/v1/contacts\n"
        f"  open {settings.public_base_url}/docs\n"
        "In Spanish (the team offers it): Rosa's phone is answered in Spanish, and Nia\n"
        f"  ({DEMO_SPANISH_STAFF_PHONE}, on call, speaks Spanish) is paged before the other\n"
        "  on-call person and reads her texts in Spanish:\n"
        f"  crisisroute simulate sms --from {DEMO_SPANISH_CLIENT_PHONE} --to {DEMO_LINE} "
        "--body 'necesito hablar con alguien'\n"
    )
    typer.echo(
        f"Console: open {settings.public_base_url}/console and sign in as Dana Supervisor "
        f"with {DEMO_SUPERVISOR_PHONE}; "
        + (
            f"the texted code is shown by `crisisroute console code {DEMO_SUPERVISOR_PHONE}`"
            if settings.messaging_transport == "outbox"
            else "the code is texted to that phone"
        )
    )


def get_settings_cache_clear() -> None:
    from app.settings import get_settings

    get_settings.cache_clear()


simulate_cli = typer.Typer(
    help="Send signed Twilio webhooks to a running server.", no_args_is_help=True
)
cli.add_typer(simulate_cli, name="simulate")


def _simulate(path: str, params: dict, url: str | None) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from app.simulate import last_outbox_id, outbox_since, post_webhook, wait_until_routed

    settings = _settings()
    if not settings.twilio_auth_token:
        typer.secho(
            "TWILIO_AUTH_TOKEN is not set (run `crisisroute demo` once)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    database = _database(settings)
    try:
        before = last_outbox_id(database)
    except SQLAlchemyError as exc:
        # Before anything is posted: it reads what the server sent from DATABASE_URL.
        typer.secho(
            f"cannot read the server's database ({type(exc).__name__}): simulate reads what the server "
            "sent from DATABASE_URL, which must be the running server's, migrated "
            "(crisisroute db upgrade)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2) from None
    response = post_webhook(
        base_url=url or settings.public_base_url,
        token=settings.twilio_auth_token,
        path=path,
        params=params,
        public_base_url=settings.public_base_url,
    )
    typer.echo(f"{path} -> HTTP {response.status_code}")
    if response.text.strip():
        typer.echo(response.text)
    if path == "/twilio/sms" and response.status_code == 200:
        outcome = wait_until_routed(database, params["MessageSid"])
        typer.echo(
            f"routed: {outcome}"
            if outcome
            else "recorded, not routed yet: is the worker running (crisisroute serve, or crisisroute worker)?"
        )
    for message in outbox_since(database, before):
        typer.echo(
            f"  outbox #{message.id} [{message.purpose}] to {message.to_number}: {message.body}"
        )


@simulate_cli.command("sms")
def simulate_sms(
    from_number: str = typer.Option(..., "--from", help="sender's number"),
    to_number: str = typer.Option(..., "--to", help="the crisis line"),
    body: str = typer.Option(..., help="message text"),
    url: str | None = typer.Option(None, help="server base URL (default PUBLIC_BASE_URL)"),
) -> None:
    """Post a signed inbound SMS and print what the service sent."""
    from app.simulate import sms_params

    _simulate("/twilio/sms", sms_params(from_number, to_number, body), url)


@simulate_cli.command("call")
def simulate_call(
    from_number: str = typer.Option(..., "--from", help="caller's number"),
    to_number: str = typer.Option(..., "--to", help="the crisis line"),
    url: str | None = typer.Option(None, help="server base URL (default PUBLIC_BASE_URL)"),
) -> None:
    """Post a signed inbound call and print the TwiML answer."""
    from app.simulate import call_params

    _simulate("/twilio/voice", call_params(from_number, to_number), url)


@simulate_cli.command("page")
def simulate_page(
    press: str = typer.Option(..., help="what the paged person presses: 1, 2 or none"),
    message: int | None = typer.Option(
        None, help="the page call's outbox id (default: the newest page call)"
    ),
    url: str | None = typer.Option(None, help="server base URL (default PUBLIC_BASE_URL)"),
) -> None:
    """Answer a page call as Twilio would: pick up, press, hang up; print each answer."""
    from app.simulate import latest_page_call, page_call_steps

    if press not in ("1", "2", "none"):
        typer.secho("--press must be 1, 2 or none", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    settings = _settings()
    call = latest_page_call(_database(settings), message)
    if call is None:
        typer.secho(
            "no page call in the outbox yet: text the line and wait for a call rule "
            "(by default a minute after the text)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    typer.echo(f"page call outbox #{call.id} to {call.to_number}")
    for path, params in page_call_steps(call.body, press):
        _simulate(path, params, url)


_register_data_commands()
_register_console_commands()
_register_key_commands()
_register_purge_command()

if __name__ == "__main__":
    cli()
