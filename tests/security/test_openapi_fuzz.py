"""Schemathesis over the whole OpenAPI document, in process, with an admin
key: whatever the input, the API never answers 5xx (CONTRACT: "Never 500 for
bad input"). Bounded: a handful of generated cases per operation."""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.formats import rfc3339_values, unregister_string_format

from tests.conftest import auth
from tests.factories import make_client, make_key, make_staff, make_team

EXAMPLES_PER_OPERATION = 25

# Date-times at and past the ends of Python's range, with offsets that push
# them over when turned into UTC, and just outside the API's bounds (1970-2199).
DATETIME_EDGES = st.builds(
    "{}T{}{}".format,
    st.sampled_from(["0001-01-01", "0001-01-02", "1969-12-31", "2200-01-01", "9999-12-31"]),
    st.sampled_from(["00:00:00", "23:59:59.999999", "12:30:00"]),
    st.sampled_from(["Z", "+00:00", "+05:00", "-00:01", "+23:59", "-23:59", "+14:00", ""]),
)


@pytest.fixture
def datetime_edges():
    """Half of the generated date-times are edge cases (the default draws
    any year 0-9999 and rarely lands on one in 25 examples)."""
    schemathesis.openapi.format("date-time", DATETIME_EDGES | rfc3339_values("date-time"))
    yield
    unregister_string_format("date-time")


@pytest.fixture
def backend():
    """SQLite only: the fuzz is about the handlers, and it must stay fast."""
    return "sqlite"


@pytest.fixture
def seeded(session, twilio_api):
    """A little real data so that generated ids 1, 2, … sometimes exist."""
    team = make_team(session, crisis_line_number="+19735550177")
    cm = make_staff(session, team, phone="+12015550181")
    make_staff(session, team, phone="+12015550180", role="supervisor")
    make_client(session, team, assigned_case_manager_id=cm.id, phones=[("+12015550150", "self")])
    make_key(session, "supervisor", team)
    session.commit()


def test_no_input_makes_the_api_answer_5xx(app, seeded, admin_key, datetime_edges):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = auth(admin_key)
    failures: list[str] = []
    calls: list[int] = []
    operations = 0
    deadline = time.monotonic() + 90
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            if time.monotonic() > deadline:
                return
            try:
                response = case.call(headers=headers)
            except Exception as exc:  # an unhandled error is a 500 in production
                calls.append(500)
                failures.append(
                    f"{case.method} {case.formatted_path} -> {type(exc).__name__}: {exc}"[:400]
                    + f"\n    {case.as_curl_command()}"
                )
                return
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:300]}\n    {case.as_curl_command()}"
                )

        call()
    print(
        f"schemathesis: {operations} operations, {len(calls)} calls, statuses {sorted(set(calls))}"
    )
    assert operations >= 10, "the whole API should be under test"
    assert time.monotonic() < deadline, "the fuzz run must stay bounded (90 s)"
    assert len(calls) >= operations, "every operation should have been called"
    assert failures == [], "\n".join(failures[:20])
