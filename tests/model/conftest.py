"""The model and its regression tests share the world (tests/world.py)."""

from tests.world import *  # noqa: F403
