"""Ownership tests reuse the SMS world (team, staff, rota, client, injected
clock, Twilio stub)."""

from tests.sms.conftest import *  # noqa: F403
