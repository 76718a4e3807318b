"""Test infrastructure.

The schema is built once per backend by `alembic upgrade head` (never
create_all); each test runs inside a transaction that is rolled back, with the
app's own commits turned into savepoints. SQLite always; PostgreSQL too when
TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

import app.models
from app import migrations
from app.db import Database, make_engine
from app.settings import load_settings

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TWILIO_TOKEN = "test-auth-token-0123456789abcdef"
TWILIO_SID = "AC" + "0" * 32
PUBLIC_BASE_URL = "https://crisis.example.org"
TWILIO_API = "https://twilio.test"

BACKENDS = ["sqlite", "postgres"]


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_url(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("db") / "test.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def migrated_engines(_sqlite_url):
    """Engines whose databases were upgraded to head once for the session."""
    engines = {}

    def get(backend: str):
        if backend not in engines:
            if backend == "postgres":
                if not TEST_DATABASE_URL:
                    pytest.skip("TEST_DATABASE_URL not set: PostgreSQL tests skipped")
                reset_postgres(TEST_DATABASE_URL)
                engine = make_engine(TEST_DATABASE_URL)
            else:
                engine = make_engine(_sqlite_url)
            migrations.upgrade(engine)
            engines[backend] = engine
        return engines[backend]

    yield get
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    if request.param == "postgres" and not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL not set: PostgreSQL tests skipped")
    return request.param


@pytest.fixture
def db(backend, migrated_engines):
    """A Database whose every session joins one outer transaction, rolled back after."""
    engine = migrated_engines(backend)
    connection = engine.connect()
    outer = connection.begin()
    database = Database(engine, session_options={"join_transaction_mode": "create_savepoint"})
    database.sessionmaker.configure(bind=connection)
    database.connection = connection
    yield database
    outer.rollback()
    connection.close()


@pytest.fixture
def session(db):
    s = db.sessionmaker()
    yield s
    s.close()


def make_settings(database_url: str = "sqlite://", **overrides):
    values = dict(
        database_url=database_url,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_api_base_url=TWILIO_API,
        public_base_url=PUBLIC_BASE_URL,
        messaging_transport="twilio",
        run_worker=False,
        # Every session of a test shares one connection (rolled back at the
        # end), which threads must not use at once: send one at a time here;
        # tests/messaging/test_concurrent_sends.py covers the pool on a real file.
        twilio_send_concurrency=1,
    )
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings():
    return make_settings()


@pytest.fixture
def app(settings, db):
    from app.main import create_app

    return create_app(settings, db=db, run_worker=False, configure_logs=False)


@pytest.fixture
def client(app):
    with TestClient(app, base_url=PUBLIC_BASE_URL) as test_client:
        yield test_client


@pytest.fixture
def admin_key(db) -> str:
    from app.auth.service import create_key

    with db.session() as s:
        _, key = create_key(session=s, name="test admin", role="admin")
    return key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def status_of(call, url: str, body: dict, key: str) -> int:
    """The status code of one API call (`client.post`, `.patch`, `.put`)
    with a JSON body under an API key."""
    return call(url, json=body, headers=auth(key)).status_code


@pytest.fixture(scope="session")
def tmp_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="crisisroute-tests-"))
