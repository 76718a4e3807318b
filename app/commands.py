"""What every `crisisroute` command shares, in app/cli and in the domains'
own CLIs alike: its settings (or exit 2 saying what is wrong) and its
database. A leaf: it imports no command, so a domain's CLI and the root
that registers it never import each other."""

from __future__ import annotations

from typing import NoReturn

import typer

from app.db import Database
from app.settings import Settings, SettingsError, get_settings, load_settings


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))


def fail(message: str) -> NoReturn:
    """Say what is wrong (in red, on stderr) and exit 2."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def open_database(settings: Settings, *, background: bool = False) -> Database:
    return Database.from_url(settings.database_url, background=background)


def database_from_environment() -> Database:
    return open_database(settings_or_exit())


def forget_cached_settings() -> None:
    """After a command wrote .env: the next read sees it."""
    get_settings.cache_clear()
