"""A database error during a request never puts the statement's parameters
(a clinical note, a phone number) or the database's own echo of the row
(PostgreSQL's `DETAIL: Failing row contains (…)`) into the logs."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.db import make_engine
from app.logs import configure_logging, mask_phone_numbers
from tests.conftest import PUBLIC_BASE_URL, auth
from tests.factories import make_client, make_team

NOTE = "Quetiapine 300mg missed; hears voices telling her to walk into traffic"


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    yield stream
    logging.getLogger().handlers[:] = []
    structlog.reset_defaults()


def _break_event_inserts(session, backend) -> None:
    """Make the next client_event INSERT fail inside the database, as a
    full disk or a constraint would, with the note among its parameters."""
    if backend == "sqlite":
        session.execute(
            text(
                "CREATE TRIGGER refuse_events BEFORE INSERT ON client_event "
                "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
            )
        )
    else:
        # PostgreSQL echoes the failing row in the error's DETAIL line.
        session.execute(
            text("ALTER TABLE client_event ADD CONSTRAINT refuse_notes CHECK (notes IS NULL)")
        )


def test_a_database_error_logs_neither_parameters_nor_the_row(
    app, session, admin_key, backend, log_stream
):
    team = make_team(session)
    patient = make_client(session, team)
    _break_event_inserts(session, backend)
    session.commit()
    with TestClient(app, base_url=PUBLIC_BASE_URL, raise_server_exceptions=False) as c:
        r = c.post(
            f"/v1/clients/{patient.id}/events",
            json={"kind": "er_visit", "at": "2026-11-20T10:00:00-05:00", "notes": NOTE},
            headers=auth(admin_key),
        )
    assert r.status_code >= 400
    out = log_stream.getvalue()
    errors = [json.loads(line) for line in out.splitlines() if "unhandled_exception" in line]
    assert errors, out[-2000:]
    # The statement itself is there to debug with; what it carried is not.
    assert "INSERT INTO client_event" in errors[0]["exception"]
    assert "Quetiapine" not in out and "traffic" not in out, out[-3000:]


def test_every_engine_hides_parameters(tmp_path):
    from app.db import Database
    from app.inbound.landing import InboxLanding

    engines = [make_engine(f"sqlite:///{tmp_path}/a.db")]
    database = Database.from_url(f"sqlite:///{tmp_path}/b.db")
    engines.append(database.engine)
    landing = InboxLanding(str(tmp_path / "b.db-landing"))
    engines.append(landing.engine)
    for engine in engines:
        assert engine.hide_parameters, engine
        engine.dispose()


def test_years_in_error_text_survive_and_phone_numbers_do_not(log_stream):
    log = structlog.get_logger("test")
    log.warning(
        "window_refused",
        error="no shift between Nov 22 2026 10:00 and 2026 11 23; years 2026 2027 checked",
        other="out of range: 1969-12-31 23:59:59, 2200-01-01",
        phones="+1 201 555 2026, 201-555-2026, (201) 555-2026, 2015552026, +442079462026",
    )
    line = json.loads(log_stream.getvalue().splitlines()[-1])
    assert line["error"] == (
        "no shift between Nov 22 2026 10:00 and 2026 11 23; years 2026 2027 checked"
    )
    assert line["other"] == "out of range: 1969-12-31 23:59:59, 2200-01-01"
    assert "555" not in line["phones"] and "2079" not in line["phones"], line["phones"]
    assert mask_phone_numbers("call 201 555 0123 now") == "call ********23 now"


def test_postgres_detail_lines_are_dropped():
    from app.logs import _scrub

    message = (
        'new row for relation "t" violates check constraint "c"\n'
        "DETAIL:  Failing row contains (1, hears voices, 2026-11-20 10:00:00+00).\n"
        "[SQL: INSERT INTO t VALUES (%(a)s)]"
    )
    scrubbed = _scrub(message)
    assert "hears voices" not in scrubbed
    assert "violates check constraint" in scrubbed and "[SQL: INSERT" in scrubbed
