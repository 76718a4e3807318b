"""The reliability suites, bigger and longer."""

from __future__ import annotations

import pytest

from tests.reliability.test_crash_restart import crash_and_restart
from tests.reliability.test_flood import flood

pytestmark = [pytest.mark.soak, pytest.mark.slow]


def test_big_flood_of_duplicated_webhooks(database_url, servers, stand_in):
    """2,000 texts from 1,000 senders, each delivered twice: 4,000 webhooks at concurrency 50."""
    flood(database_url, servers, stand_in, known=800, unknown=200)


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_many_kill9_restarts_mid_escalation(database_url, servers, stand_in, round_):
    crash_and_restart(database_url, servers, stand_in, contacts=30, kills=10, seed_value=round_,
                      ack_timeout_seconds=4)
