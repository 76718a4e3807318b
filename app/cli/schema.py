"""`crisisroute db …`: the database schema."""

from __future__ import annotations

import typer

from app import migrations
from app.commands import database_from_environment

db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Run the migrations to head."""
    database = database_from_environment()
    migrations.upgrade(database.engine)
    typer.echo(f"database at {migrations.current_revision(database.engine)} (head)")
