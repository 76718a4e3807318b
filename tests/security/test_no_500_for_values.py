"""Every date-time the API takes, in a body or a query, is bounded by one
shared type (app.datetimes.Instant): a year the database, the rota engine or
Python's own arithmetic cannot handle is a 422 naming the field, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import auth
from tests.factories import make_client, make_contact, make_staff, make_team
from tests.oncall.conftest import (
    clock,  # noqa: F401
    weekly,
)

# Years 1 and 9999 with offsets that push them past datetime's range when
# turned into UTC, and ones that stay inside it but far outside any sane use.
EDGES = [
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T00:30:00+23:59",
    "0001-01-01T00:00:00-00:01",
    "9999-12-31T23:59:59-05:00",
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59+14:00",
    "1969-12-31T23:59:59+00:00",
    "2200-01-01T00:00:00+00:00",
]
FINE = "2026-11-20T10:00:00-05:00"


@pytest.fixture
def world(session, client, admin_key, clock):  # noqa: F811
    team = make_team(session, name="North")
    a = make_staff(session, team, phone="+12015550171")
    b = make_staff(session, team, phone="+12015550172")
    patient = make_client(session, team, assigned_case_manager_id=a.id)
    contact = make_contact(
        session, team, created_at=datetime(2026, 11, 18, tzinfo=UTC), client_id=patient.id
    )
    session.commit()

    class World:
        pass

    w = World()
    w.team, w.a, w.b, w.patient, w.contact = team, a, b, patient, contact
    r = client.post(
        f"/v1/teams/{team.id}/rotas",
        json=weekly(type("T", (), {"a": a, "b": b})()),
        headers=auth(admin_key),
    )
    assert r.status_code == 201, r.text
    w.rota_id = r.json()["id"]
    return w


def _queries(w):
    t, r = w.team.id, w.rota_id
    return [
        ("/v1/audit", {"start", "end"}, {}),
        (f"/v1/rotas/{r}/overrides", {"start", "end"}, {}),
        (f"/v1/rotas/{r}/oncall", {"at"}, {}),
        (f"/v1/teams/{t}/oncall", {"at"}, {}),
        (f"/v1/rotas/{r}/schedule", {"start", "end"}, {}),
        (f"/v1/teams/{t}/coverage", {"start", "end"}, {}),
        ("/v1/contacts", {"start", "end"}, {}),
        ("/v1/reports/summary", {"start", "end"}, {"team_id": t}),
        ("/v1/reports/summary.html", {"start", "end"}, {"team_id": t}),
    ]


@pytest.mark.parametrize("value", EDGES)
def test_query_datetimes_out_of_range_are_422(client, admin_key, world, value):
    for path, names, extra in _queries(world):
        for name in names:
            r = client.get(path, params={**extra, name: value}, headers=auth(admin_key))
            assert r.status_code == 422, (path, name, value, r.status_code, r.text[:300])
            assert name in r.text, (path, name, r.text)


def _bodies(w):
    return [
        (f"/v1/staff/{w.a.id}/leave", {"start": FINE, "end": "2026-11-21T10:00:00-05:00"}),
        (
            f"/v1/rotas/{w.rota_id}/overrides",
            {"staff_id": w.a.id, "start": FINE, "end": "2026-11-21T10:00:00-05:00"},
        ),
        (f"/v1/clients/{w.patient.id}/events", {"kind": "er_visit", "at": FINE}),
        (
            f"/v1/contacts/{w.contact.id}/resolve",
            {
                "outcome": "resolved_by_phone",
                "risk_level": "low",
                "follow_up_due_at": FINE,
            },
        ),
    ]


@pytest.mark.parametrize("value", EDGES)
def test_body_datetimes_out_of_range_are_422_and_change_nothing(client, admin_key, world, value):
    for path, body in _bodies(world):
        for name in [k for k, v in body.items() if v == FINE or k == "end"]:
            r = client.post(path, json={**body, name: value}, headers=auth(admin_key))
            assert r.status_code == 422, (path, name, value, r.status_code, r.text[:300])
            assert name in r.text, (path, name, r.text)
    # Nothing was written by any of them.
    r = client.get(f"/v1/rotas/{world.rota_id}/overrides", headers=auth(admin_key))
    assert r.json() == [], r.text
    r = client.get(f"/v1/contacts/{world.contact.id}", headers=auth(admin_key))
    assert r.json()["status"] == "open"


def test_a_window_the_engine_cannot_compute_is_422(client, admin_key, world):
    """A window that is empty or reversed once its defaults are filled in, or
    longer than the engine and the reports compute, is a 422 naming `end`;
    one that starts at the last moment allowed is still computed."""
    t, r = world.team.id, world.rota_id
    last = "2199-12-31T23:59:59+00:00"
    for path, params in [
        (f"/v1/rotas/{r}/schedule", {"start": FINE, "end": "2026-11-20T09:00:00-05:00"}),
        (f"/v1/rotas/{r}/schedule", {"start": "1970-01-01T00:00:00+00:00", "end": last}),
        (f"/v1/teams/{t}/coverage", {"start": "1970-01-01T00:00:00+00:00", "end": last}),
        ("/v1/reports/summary", {"team_id": t, "start": last}),
        ("/v1/reports/summary", {"team_id": t, "start": "1970-01-01T00:00:00+00:00", "end": last}),
    ]:
        resp = client.get(path, params=params, headers=auth(admin_key))
        assert resp.status_code == 422, (path, params, resp.status_code, resp.text[:300])
        assert "end" in resp.text
    for path, params in [
        (f"/v1/rotas/{r}/schedule", {"start": last}),
        (f"/v1/teams/{t}/coverage", {"start": last}),
        (f"/v1/rotas/{r}/oncall", {"at": last}),
        ("/v1/reports/summary", {"team_id": t, "end": "1970-01-01T00:00:00+00:00"}),
    ]:
        resp = client.get(path, params=params, headers=auth(admin_key))
        assert resp.status_code == 200, (path, params, resp.status_code, resp.text[:300])


def test_a_sane_datetime_still_works(client, admin_key, world):
    r = client.get(
        f"/v1/rotas/{world.rota_id}/oncall", params={"at": FINE}, headers=auth(admin_key)
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/v1/clients/{world.patient.id}/events",
        json={"kind": "er_visit", "at": FINE},
        headers=auth(admin_key),
    )
    assert r.status_code == 201, r.text


def test_values_the_database_refuses_are_422_and_change_nothing(
    client, admin_key, session, backend
):
    """PostgreSQL refuses a 70-bit integer in a comparison and a NUL in text
    (DataError); SQLite refuses the integer while binding. Both are bad input."""
    team = make_team(session, name="North")
    session.commit()
    huge = 2**70
    for path in (
        f"/v1/contacts?client_id={huge}",
        f"/v1/audit?team_id={huge}",
        f"/v1/contacts?team_id={huge}",
    ):
        r = client.get(path, headers=auth(admin_key))
        assert r.status_code == 422, (backend, path, r.status_code, r.text[:300])
    r = client.patch(f"/v1/teams/{team.id}", json={"name": "a\x00b"}, headers=auth(admin_key))
    assert r.status_code in (200, 422), r.text
    if backend == "postgres":
        assert r.status_code == 422, r.text
        assert client.get(f"/v1/teams/{team.id}", headers=auth(admin_key)).json()["name"] == "North"


def _takes_unbounded_datetime(annotation, metadata=()) -> bool:
    """A datetime anywhere in this type without check_instant beside it."""
    import typing
    from datetime import datetime as dt

    from pydantic import BaseModel

    from app.datetimes import check_instant

    bounded = any(getattr(m, "func", None) is check_instant for m in metadata)
    if annotation is dt:
        return not bounded
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return _takes_unbounded_datetime(inner, (*metadata, *extra))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(
            _takes_unbounded_datetime(f.annotation, f.metadata)
            for f in annotation.model_fields.values()
        )
    return any(_takes_unbounded_datetime(arg, metadata) for arg in typing.get_args(annotation))


def test_every_datetime_the_api_takes_is_the_bounded_type(app):
    """A new query parameter or body field typed plain `datetime` would let
    year 1 and 9999 back in: every input date-time is app.datetimes.Instant."""
    from fastapi.routing import APIRoute

    def api_routes(routes):
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.130)
                yield from api_routes(route.original_router.routes)
            elif hasattr(route, "routes"):
                yield from api_routes(route.routes)

    unbounded = []
    checked = 0
    for route in api_routes(app.routes):
        checked += 1
        dependant = route.dependant
        params = [*dependant.query_params, *dependant.body_params]
        for sub in dependant.dependencies:
            params += [*sub.query_params, *sub.body_params]
        for param in params:
            info = param.field_info
            if _takes_unbounded_datetime(info.annotation, info.metadata):
                unbounded.append(f"{','.join(route.methods)} {route.path} {param.name}")
    assert checked >= 40, checked
    assert unbounded == []
