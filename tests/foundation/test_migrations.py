"""The schema comes only from Alembic, and the migrations match the models."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app import migrations
from app.db import make_engine, metadata
from tests.conftest import TEST_DATABASE_URL


def _fresh_engine(backend, tmp_path):
    if backend == "postgres":
        if not TEST_DATABASE_URL:
            pytest.skip("TEST_DATABASE_URL not set")
        # A database of its own so the shared test schema is left alone.
        admin = make_engine(TEST_DATABASE_URL)
        name = f"crisisroute_migration_test_{os.getpid()}"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            c.exec_driver_sql(f"CREATE DATABASE {name}")
        admin.dispose()
        url = TEST_DATABASE_URL.rsplit("/", 1)[0] + "/" + name
        return make_engine(url)
    return make_engine(f"sqlite:///{tmp_path}/empty.db")


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"])
def test_empty_database_upgrades_to_head_and_matches_models(backend_name, tmp_path):
    engine = _fresh_engine(backend_name, tmp_path)
    try:
        assert migrations.is_empty(engine)
        assert not migrations.is_at_head(engine)
        migrations.upgrade(engine)
        assert migrations.is_at_head(engine)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()
        if backend_name == "postgres":
            admin = make_engine(TEST_DATABASE_URL)
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql(
                    f"DROP DATABASE IF EXISTS crisisroute_migration_test_{os.getpid()} WITH (FORCE)"
                )
            admin.dispose()


def test_app_never_calls_create_all():
    from pathlib import Path

    offenders = [p for p in Path("app").rglob("*.py") if "create_all(" in p.read_text()]
    assert offenders == []


def test_the_landing_files_migrations_build_what_the_code_declares(tmp_path):
    """The SQLite landing file (app.inbound.landing) has its own Alembic
    environment: upgrading an empty file gives exactly the declared table."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    from app.inbound.landing import InboxLanding, landing_metadata

    landing = InboxLanding(str(tmp_path / "crisisroute.db-landing"))
    try:
        assert landing.waiting() == 0  # first use upgrades the empty file
        with landing.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), landing_metadata) == []
            assert MigrationContext.configure(connection).get_current_revision() == "landing_0002"
            assert set(inspect(connection).get_table_names()) == {"landed_sms", "alembic_version"}
    finally:
        landing.close()


def test_a_landing_file_made_before_media_gains_the_column(tmp_path):
    """A file made by landing_0001 before `media` existed (the table as it
    was then) is upgraded in place and keeps the text waiting in it."""
    import sqlite3

    from app.inbound.landing import InboxLanding

    path = tmp_path / "old.db-landing"
    with sqlite3.connect(path) as old:
        old.executescript(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);"
            "INSERT INTO alembic_version VALUES ('landing_0001');"
            "CREATE TABLE landed_sms (id INTEGER PRIMARY KEY, message_sid VARCHAR(64) NOT NULL"
            " UNIQUE, to_number VARCHAR(20) NOT NULL, from_number VARCHAR(64) NOT NULL,"
            " body TEXT NOT NULL, received_at DATETIME NOT NULL, moved_at DATETIME);"
            "INSERT INTO landed_sms (message_sid, to_number, from_number, body, received_at)"
            " VALUES ('SMold', '+19735550100', '+12015550150', 'still here',"
            " '2026-12-03 10:00:00.000000');"
        )
    landing = InboxLanding(str(path))
    try:
        assert landing.waiting() == 1
        with landing.engine.connect() as connection:
            columns = [c[1] for c in connection.exec_driver_sql("PRAGMA table_info(landed_sms)")]
        assert "media" in columns
    finally:
        landing.close()
