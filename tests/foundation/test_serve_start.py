"""How `crisisroute serve` starts: its whole output is JSON lines, it refuses
a database behind the migrations' head unless told otherwise, and replicas
starting at once on an empty PostgreSQL database create the schema once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import text

from app import migrations
from app.db import make_engine
from benchmarks.common import REPO, Server
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.slow


def _json_lines(output: str) -> list[dict]:
    lines = [line for line in output.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}\n--- whole output:\n{output[-3000:]}")
    return parsed


def test_every_line_a_real_serve_run_writes_is_json():
    """With its worker children, through a request, to SIGTERM."""
    server = Server(env={"LOG_LEVEL": "INFO"}).start()
    try:
        assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
        assert httpx.get(server.url + "/v1/contacts", timeout=5).status_code == 401
    finally:
        server.stop()
    lines = _json_lines(server.log_text())
    events = {line.get("event") for line in lines}
    assert "database_created" in events and "worker_started" in events, events
    assert any(line.get("event") == "request" for line in lines), events


def _behind_head(url: str) -> str:
    engine = make_engine(url)
    script = migrations.ScriptDirectory.from_config(migrations.alembic_config())
    previous = script.get_revision(migrations.head_revision()).down_revision
    migrations.upgrade(engine, previous)
    engine.dispose()
    return previous


def test_serve_refuses_a_database_behind_head_unless_allowed(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    previous = _behind_head(url)
    refused = Server(database_url=url)
    refused.start(wait_ready=False)
    try:
        assert refused.process.wait(30) == 2
    finally:
        refused.stop()
    lines = _json_lines(refused.log_text())
    refusal = [line for line in lines if line.get("event") == "schema_behind_head"]
    assert refusal and refusal[0]["revision"] == previous, lines
    assert "crisisroute db upgrade" in refusal[0]["hint"]
    assert "--allow-old-schema" in refusal[0]["hint"]

    allowed = Server(database_url=url, extra_args=["--allow-old-schema", "--no-worker"])
    allowed.start(wait_ready=False)
    try:
        allowed.wait_ready(path="/healthz")
        # Still not ready for traffic behind a load balancer: not at head.
        assert httpx.get(allowed.url + "/readyz", timeout=5).status_code == 503
    finally:
        allowed.stop()
    assert any(
        line.get("event") == "schema_behind_head_allowed"
        for line in _json_lines(allowed.log_text())
    )


@pytest.fixture
def empty_postgres_url():
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL not set")
    admin = make_engine(TEST_DATABASE_URL)
    name = f"crisisroute_lock_test_{os.getpid()}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    yield TEST_DATABASE_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def test_two_upgrades_at_once_on_an_empty_postgres_database_both_succeed(empty_postgres_url):
    """Two processes (Alembic's context is one per process), as two replicas
    starting together would run them."""
    env = {**os.environ, "DATABASE_URL": empty_postgres_url, "PYTHONPATH": str(REPO)}
    replicas = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [replica.communicate(timeout=180)[0] for replica in replicas]
    assert [replica.returncode for replica in replicas] == [0, 0], outputs
    engine = make_engine(empty_postgres_url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert versions == [(migrations.head_revision(),)]
    finally:
        engine.dispose()
