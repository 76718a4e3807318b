"""Twilio's REST API mocked with respx for the in-process security tests:
nothing leaves the machine, every outbound message is accepted."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import httpx
import pytest
import respx

from tests.conftest import TWILIO_API, TWILIO_SID
from tests.world import Clock

MESSAGES_URL = f"{TWILIO_API}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
# Where the app's clock stands in these suites until a test moves it (their
# own NOW says the same instant).
NOW = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)


@pytest.fixture
def clock(app):
    c = Clock(NOW)
    app.state.runtime.clock = c
    return c


@pytest.fixture
def twilio_api():
    sids = itertools.count(1)

    def create(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            201, json={"sid": f"SM{next(sids):032d}", "status": "queued", "account_sid": TWILIO_SID}
        )

    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(MESSAGES_URL).mock(side_effect=create)
        yield route


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: starts real server subprocesses (select with -m slow / -m 'not slow')"
    )
