"""The database's migrations (this package: env.py, versions/) and Alembic
from code: upgrade to head, and tell whether a database is at head.

They ship inside the package, so an installed `crisisroute db upgrade`
needs no checkout; alembic.ini at the repository root points here for
`alembic upgrade head` and `alembic revision`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

HERE = Path(__file__).resolve().parent


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    return config


# pg_advisory_xact_lock's key: any constant other tools on the database do not use.
MIGRATION_LOCK_KEY = 0x6372_6D67  # "crmg"


def take_migration_lock(connection: Connection) -> None:
    """Held until the migrating transaction ends, so replicas starting at once
    on an empty PostgreSQL database queue: the first creates the schema, the
    others then find it at head. (SQLite needs none: every transaction there
    begins IMMEDIATE, one writer at a time.) env.py takes it before Alembic
    reads the current revision, whoever runs the migrations."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def connection_is_at_head(connection) -> bool:
    return MigrationContext.configure(connection).get_current_revision() == head_revision()


def is_empty(engine: Engine) -> bool:
    return not inspect(engine).get_table_names()
