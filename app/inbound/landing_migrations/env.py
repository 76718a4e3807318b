"""Alembic environment of the SQLite landing file (app.inbound.landing):
its own schema and version table, beside the main database's. The
connection always comes from the caller."""

from alembic import context

from app.inbound.landing import landing_metadata

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection, target_metadata=landing_metadata, render_as_batch=True, compare_type=True
)
with context.begin_transaction():
    context.run_migrations()
