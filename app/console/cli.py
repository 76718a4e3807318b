"""`crisisroute console …`: development help for signing in to the console."""

from __future__ import annotations

import re

import typer
from sqlalchemy import select
from sqlmodel import col

import app.models  # noqa: F401  (every table)
from app.commands import open_database, settings_or_exit
from app.messaging.models import OutboundMessage

console_cli = typer.Typer(help="The web console.", no_args_is_help=True)


@console_cli.command("code")
def sign_in_code(phone: str = typer.Argument(..., help="the staff member's number, E.164")) -> None:
    """Print the last sign-in code texted to PHONE. Only with
    MESSAGING_TRANSPORT=outbox (development: nothing is really texted)."""
    settings = settings_or_exit()
    if settings.messaging_transport != "outbox":
        typer.secho(
            "codes are texted to the person's phone; this only reads them with "
            "MESSAGING_TRANSPORT=outbox",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    with open_database(settings).session() as session:
        body = (
            session.execute(
                select(col(OutboundMessage.body))
                .where(
                    col(OutboundMessage.to_number) == phone,
                    col(OutboundMessage.purpose) == "sign_in_code",
                )
                .order_by(col(OutboundMessage.id).desc())
            )
            .scalars()
            .first()
        )
    match = re.search(r"\b\d{6}\b", body or "")
    if match is None:
        typer.secho(f"no sign-in code was texted to {phone}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(match.group(0))
