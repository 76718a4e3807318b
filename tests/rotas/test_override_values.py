"""An override keeps its instants in UTC and names the field a bad value is in
(the rota API turns these messages into 422 details)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from rotas import InvalidOverrideError, NaiveDatetimeError, Override

PLUS_TWO = timezone(timedelta(hours=2))


def test_an_override_holds_its_instants_in_utc():
    override = Override(
        start=datetime(2026, 5, 1, 10, 0, tzinfo=PLUS_TWO),
        end=datetime(2026, 5, 1, 12, 0, tzinfo=PLUS_TWO),
        person="ana",
    )
    assert override.start.tzinfo is UTC and override.start.hour == 8
    assert override.end.tzinfo is UTC and override.end.hour == 10


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"start": datetime(2026, 5, 1, 10)}, NaiveDatetimeError, "override.start"),
        ({"end": datetime(2026, 5, 1, 12)}, NaiveDatetimeError, "override.end"),
        ({"person": None}, InvalidOverrideError, "override.person"),
        ({"person": ["not", "hashable"]}, InvalidOverrideError, "override.person"),
    ],
)
def test_a_bad_override_names_its_field(kwargs, error, field):
    values = {
        "start": datetime(2026, 5, 1, 10, tzinfo=UTC),
        "end": datetime(2026, 5, 1, 12, tzinfo=UTC),
        "person": "ana",
    } | kwargs
    with pytest.raises(error) as raised:
        Override(**values)
    assert str(raised.value).startswith(f"{field}:")
