from tests.world import *  # noqa: F403
