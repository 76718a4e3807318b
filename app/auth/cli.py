"""`crisisroute keys list|revoke`: the same service functions as the API."""

from __future__ import annotations

import typer

import app.models  # noqa: F401  (every table: the key's rows refer to them)
from app.auth.models import ApiKey
from app.auth.service import CLI, audit_row, list_keys, revoke_key
from app.commands import database_from_environment, fail
from app.db import utcnow


def keys_list(
    team: int | None = typer.Option(None, help="only this team's keys"),
) -> None:
    """Every key's metadata (never the key): id, role, team, staff, state, last use."""
    database = database_from_environment()
    with database.session() as session:
        rows = list_keys(session=session, team_id=team)
        typer.echo("id\trole\tteam\tstaff\tstate\tprefix\tlast_used\tname")
        for row in rows:
            state = (
                f"revoked {row.revoked_at.isoformat()}"
                if row.revoked_at
                else f"expires {row.expires_at.isoformat()}"
                if row.expires_at
                else "active"
            )
            last = row.last_used_at.isoformat() if row.last_used_at else "-"
            typer.echo(
                f"{row.id}\t{row.role}\t{row.team_id or '-'}\t{row.staff_id or '-'}\t"
                f"{state}\t{row.prefix}…\t{last}\t{row.name}"
            )


def keys_revoke(key_id: int = typer.Argument(..., help="the key's id (see `keys list`)")) -> None:
    """Revoke a key: every instance answers it 401 from its next request."""
    database = database_from_environment()
    with database.session() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            fail(f"error: no key {key_id}")
        if revoke_key(session=session, api_key=row, now=utcnow()):
            audit_row(session, CLI, "api_key.revoke", row, team_id=row.team_id)
            typer.echo(f"key {key_id} revoked")
        else:
            typer.echo(f"key {key_id} was already revoked")


def register(keys_cli: typer.Typer) -> None:
    keys_cli.command("list")(keys_list)
    keys_cli.command("revoke")(keys_revoke)
