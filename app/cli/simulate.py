"""`crisisroute simulate …`: signed Twilio webhooks posted to a running
server, and what it sent in answer."""

from __future__ import annotations

import typer
from sqlalchemy.exc import SQLAlchemyError

from app.commands import fail, open_database, settings_or_exit
from app.simulate import (
    call_params,
    last_outbox_id,
    latest_page_call,
    outbox_since,
    page_call_steps,
    post_webhook,
    sms_params,
    wait_until_routed,
)

simulate_cli = typer.Typer(
    help="Send signed Twilio webhooks to a running server.", no_args_is_help=True
)


def _simulate(path: str, params: dict, url: str | None) -> None:
    settings = settings_or_exit()
    if not settings.twilio_auth_token:
        fail("TWILIO_AUTH_TOKEN is not set (run `crisisroute demo` once)")
    database = open_database(settings)
    try:
        before = last_outbox_id(database)
    except SQLAlchemyError as exc:
        # Before anything is posted: it reads what the server sent from DATABASE_URL.
        fail(
            f"cannot read the server's database ({type(exc).__name__}): simulate reads what the server "
            "sent from DATABASE_URL, which must be the running server's, migrated "
            "(crisisroute db upgrade)"
        )
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
    _simulate("/twilio/sms", sms_params(from_number, to_number, body), url)


@simulate_cli.command("call")
def simulate_call(
    from_number: str = typer.Option(..., "--from", help="caller's number"),
    to_number: str = typer.Option(..., "--to", help="the crisis line"),
    url: str | None = typer.Option(None, help="server base URL (default PUBLIC_BASE_URL)"),
) -> None:
    """Post a signed inbound call and print the TwiML answer."""
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
    if press not in ("1", "2", "none"):
        fail("--press must be 1, 2 or none")
    settings = settings_or_exit()
    call = latest_page_call(open_database(settings), message)
    if call is None:
        fail(
            "no page call in the outbox yet: text the line and wait for a call rule "
            "(by default a minute after the text)"
        )
    typer.echo(f"page call outbox #{call.id} to {call.to_number}")
    for path, params in page_call_steps(call.body, press):
        _simulate(path, params, url)
