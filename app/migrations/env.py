"""Alembic environment: the schema is SQLModel.metadata; the URL comes from
the caller (app.migrations) or DATABASE_URL."""

from alembic import context

import app.models  # noqa: F401  (registers every table)
from app.db import make_engine, metadata
from app.migrations import take_migration_lock
from app.settings import get_settings

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    take_migration_lock(connection)
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
