"""Twilio's REST API mocked with respx for the in-process security tests:
nothing leaves the machine, every outbound message is accepted."""

from __future__ import annotations

import itertools

import httpx
import pytest
import respx

from tests.conftest import TWILIO_API, TWILIO_SID

MESSAGES_URL = f"{TWILIO_API}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"


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
