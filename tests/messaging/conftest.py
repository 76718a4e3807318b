"""Under a mutation run each test builds the claim statements itself:
`claim` builds them once at import, and a mutation run's workers are forked
from a process that imported it before any mutant was chosen, so a mutant
of `_claim_statement` would otherwise never be built."""

import os

import pytest

from app.messaging import claim


@pytest.fixture(autouse=True)
def _claim_statements_built_per_test(monkeypatch):
    if os.environ.get("MUTANT_UNDER_TEST"):
        monkeypatch.setattr(claim, "_CLAIM_DUE", claim._claim_statement(only_these=False))
        monkeypatch.setattr(claim, "_CLAIM_THESE", claim._claim_statement(only_these=True))
    yield
