"""The shared world: a team with people and rotas, a fake clock, Twilio mocked (tests/world.py)."""

from tests.world import *  # noqa: F403
