"""`crisisroute demo`: a demo team to try the service with."""

from __future__ import annotations

import typer

from app import migrations
from app.commands import forget_cached_settings, open_database, settings_or_exit
from app.demo import (
    DEMO_LINE,
    DEMO_SPANISH_CLIENT_PHONE,
    DEMO_SPANISH_STAFF_PHONE,
    DEMO_SUPERVISOR_PHONE,
    ensure_dev_token,
    seed,
)


def demo() -> None:
    """Seed a demo team, staff, rotas and a client, and print what to try."""
    token = ensure_dev_token()
    if token:
        typer.echo("wrote a local TWILIO_AUTH_TOKEN to .env so simulated webhooks can be signed")
        forget_cached_settings()
    settings = settings_or_exit()
    database = open_database(settings)
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
