"""Soak runs: the reliability suites at sizes too long for every CI run.

Collected only when CRISISROUTE_SOAK=1 (see benchmarks/README.md):

    CRISISROUTE_SOAK=1 TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/crisisroute_proof \\
        .venv/bin/pytest tests/soak -p no:warnings
"""

from __future__ import annotations

import os

from tests.reliability.conftest import database_url, pg_url, servers, stand_in  # noqa: F401  (fixtures)

if os.environ.get("CRISISROUTE_SOAK") != "1":
    collect_ignore_glob = ["test_*.py"]
