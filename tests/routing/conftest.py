"""Each test parses working hours itself: `availability` keeps parsed hours
in a module cache, and a process that ran other tests first (a mutation
run's forked workers) would otherwise never parse them again."""

import pytest

from app.routing import availability


@pytest.fixture(autouse=True)
def _fresh_working_hours_cache():
    availability._PARSED.clear()
    yield
    availability._PARSED.clear()
