from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.factories import make_key, make_staff, make_team
from tests.oncall.conftest import clock  # noqa: F401  (the app's clock, fixed)


@dataclass
class Program:
    team: object
    other: object
    cm: object
    cm2: object
    sup_key: str
    cm_key: str
    other_key: str
    admin_key: str


@pytest.fixture
def program(session, client, clock, admin_key) -> Program:  # noqa: F811
    team = make_team(session, name="North", caseload_limit=2)
    other = make_team(session, name="South")
    cm = make_staff(session, team, name="Casey", phone="+12015550181")
    cm2 = make_staff(session, team, name="Drew", phone="+12015550182")
    keys = (
        make_key(session, "supervisor", team),
        make_key(session, "case_manager", team, cm),
        make_key(session, "supervisor", other),
    )
    session.commit()
    return Program(team, other, cm, cm2, *keys, admin_key)
