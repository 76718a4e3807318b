"""Ownership tests reuse the shared world (team, staff, rota, client, injected
clock, Twilio stub)."""

from tests.world import *  # noqa: F403
