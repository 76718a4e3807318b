"""`crisisroute keys create`; `keys list|revoke` are app/auth/cli.py's."""

from __future__ import annotations

import typer

import app.models  # noqa: F401  (every table, for the key's audit row)
from app import migrations
from app.auth.service import CLI, audit_row, create_key
from app.commands import database_from_environment, fail
from app.errors import AppError

keys_cli = typer.Typer(help="API keys.", no_args_is_help=True)


@keys_cli.command("create")
def keys_create(
    role: str = typer.Option(..., help="admin, supervisor or case_manager"),
    name: str = typer.Option(..., help="who or what holds the key"),
    team: int | None = typer.Option(None, help="team id (required for non-admin roles)"),
    staff: int | None = typer.Option(None, help="staff id the key belongs to"),
) -> None:
    """Create an API key and print it once."""
    database = database_from_environment()
    if migrations.is_empty(database.engine):
        migrations.upgrade(database.engine)
    try:
        with database.session() as session:
            row, key = create_key(
                session=session, name=name, role=role, team_id=team, staff_id=staff
            )
            audit_row(session, CLI, "api_key.create", row, team_id=team, detail={"role": role})
    except AppError as exc:
        fail(f"error: {exc.detail}")
    typer.echo(key)
