import io
import json
import logging

import structlog
from fastapi.testclient import TestClient

from app.logs import configure_logging, mask_phone_numbers, scrub_phi
from app.main import create_app


def test_mask_keeps_last_two_digits_and_leaves_times():
    assert (
        mask_phone_numbers("from +12015550123 at 2026-11-22T09:31:00Z")
        == "from *********23 at 2026-11-22T09:31:00Z"
    )
    assert mask_phone_numbers("(201) 555-0147") == "********47"


def test_scrub_drops_bodies_and_names():
    event = scrub_phi(
        None,
        "info",
        {
            "event": "x",
            "body": "I want to die",
            "name": "Sam Doe",
            "data": {"From": "+12015550123", "Body": "hi"},
        },
    )
    assert event["body"] == "[redacted]" and event["name"] == "[redacted]"
    assert event["data"] == {"From": "*********23", "Body": "[redacted]"}


def test_unhandled_error_is_500_without_internals_and_logged_with_request_id(settings, db):
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        app = create_app(settings, db=db, run_worker=False, configure_logs=False)

        @app.get("/boom")
        def boom():
            raise RuntimeError("secret internals +12015550123")

        with TestClient(app, raise_server_exceptions=False) as c:
            r = c.get("/boom")
        assert r.status_code == 500
        assert "secret" not in r.text
        request_id = r.json()["request_id"]
        lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
        errors = [line for line in lines if line["event"] == "unhandled_exception"]
        assert errors and errors[0]["request_id"] == request_id
        assert "+12015550123" not in stream.getvalue()
    finally:
        logging.getLogger().handlers[:] = []
        structlog.reset_defaults()
