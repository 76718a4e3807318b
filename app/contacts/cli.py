"""`crisisroute purge [--dry-run]`: the retention run, by hand."""

from __future__ import annotations

from dataclasses import asdict

import typer
from sqlalchemy import select
from sqlmodel import col

import app.models  # noqa: F401  (every table the purge erases from)
from app.commands import database_from_environment, fail
from app.contacts.retention import cutoff_for, purge_team
from app.db import utcnow
from app.teams.models import Team


def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="count what would go; change nothing"),
    team: int | None = typer.Option(None, help="only this team"),
) -> None:
    """Erase message bodies, media references and notes older than each team's
    message_retention_days (the daily job does this on its own)."""
    database = database_from_environment()
    now = utcnow()
    with database.session() as session:
        query = select(Team).order_by(col(Team.id))
        if team is not None:
            query = query.where(col(Team.id) == team)
        teams = list(session.execute(query).scalars())
        if team is not None and not teams:
            fail(f"error: no team {team}")
        for row in teams:
            counts = purge_team(session=session, team=row, now=now, dry_run=dry_run)
            verb = "would erase" if dry_run else "erased"
            typer.echo(
                f"team {row.id}: {verb} what is older than {cutoff_for(row, now):%Y-%m-%d} "
                f"({row.message_retention_days} days): "
                + ", ".join(f"{name.replace('_', ' ')}: {n}" for name, n in asdict(counts).items())
            )
