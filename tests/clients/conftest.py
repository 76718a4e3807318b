"""The shared world (tests/world.py) and the browser plumbing (tests/console/browser.py)."""

from tests.console.browser import browser, live, page, phone_page  # noqa: F401
from tests.world import *  # noqa: F403
