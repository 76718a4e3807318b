"""The `crisisroute` command: one Typer app, its commands grouped by concern
(schema, keys, processes, demo, simulate) and the domains' own commands
(import/export, console, keys list/revoke, purge) registered beside them.

Nothing here loads prometheus_client: `serve` points it at a directory the
web process and its workers share before anything loads it, so the commands
import the web app, the runtime and the jobs only when they run
(app/cli/processes.py; tests/cli/test_cli.py checks).
"""

from __future__ import annotations

import typer

from app.auth.cli import register as register_key_commands
from app.cli import demo, keys, processes, schema, simulate
from app.clients.cli import export_cli, import_cli
from app.console.cli import console_cli
from app.contacts.cli import purge

cli = typer.Typer(help="crisisroute: 24/7 crisis on-call routing.", no_args_is_help=True)

cli.add_typer(schema.db_cli, name="db")
cli.add_typer(keys.keys_cli, name="keys")
register_key_commands(keys.keys_cli)
cli.command()(processes.serve)
cli.command()(processes.worker)
cli.command()(demo.demo)
cli.add_typer(simulate.simulate_cli, name="simulate")
cli.add_typer(import_cli, name="import")
cli.add_typer(export_cli, name="export")
cli.add_typer(console_cli, name="console")
cli.command("purge")(purge)
