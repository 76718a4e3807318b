from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from tests.factories import make_key, make_staff, make_team
from tests.world import Clock

NOW = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)


@dataclass
class Team:
    team: object
    other: object
    a: object
    b: object
    outsider: object
    supervisor_key: str
    case_manager_key: str
    other_key: str
    admin_key: str


@pytest.fixture
def clock(app):
    c = Clock(NOW)
    app.state.runtime.clock = c
    return c


@pytest.fixture
def team(session, client, clock, admin_key) -> Team:
    t = make_team(session, name="North")
    other = make_team(session, name="South")
    a = make_staff(session, t, name="Alice Ames", phone="+12015550171")
    b = make_staff(session, t, name="Bob Berg", phone="+12015550172")
    outsider = make_staff(session, other, name="Olly Out", phone="+12015550173")
    keys = (
        make_key(session, "supervisor", t),
        make_key(session, "case_manager", t, a),
        make_key(session, "supervisor", other),
    )
    session.commit()
    return Team(t, other, a, b, outsider, *keys, admin_key)


def weekly(team: Team, **overrides) -> dict:
    body = {
        "name": "Primary",
        "priority": 1,
        "timezone": "America/New_York",
        "layers": [
            {
                "name": "weekly",
                "turn": {"unit": "weeks", "length": 1},
                "start": "2026-01-05T09:00",
                "participants": [team.a.id, team.b.id],
                "restrictions": [],
            }
        ],
    }
    body.update(overrides)
    return body
