"""Limits: pages, item lengths, body size, rate limits on what needs no key,
and the headers every response must carry."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from app.auth.models import AuditLog
from app.clients import plan_links
from app.clients.models import Client, CrisisPlan
from tests.conftest import PUBLIC_BASE_URL, auth, make_settings
from tests.factories import make_client, make_contact, make_key, make_staff, make_team
from tests.security.conftest import NOW
from tests.twilio_signing import post_signed


@pytest.fixture
def settings():
    return make_settings(
        max_request_bytes=10_000,
        rate_limit_links="3/minute",
        rate_limit_webhook_refusals="3/minute",
    )


@pytest.fixture
def team(session, client, clock):
    team = make_team(session)
    sup_staff = make_staff(session, team, role="supervisor")
    sup = make_key(session, "supervisor", team, sup_staff)
    session.commit()
    return team, sup


def _pages(client, path: str, key: str, limit: int) -> list[list]:
    pages, offset = [], 0
    while True:
        r = client.get(path, params={"limit": limit, "offset": offset}, headers=auth(key))
        assert r.status_code == 200, r.text
        pages.append(r.json())
        if "X-Next-Offset" not in r.headers:
            return pages
        offset = int(r.headers["X-Next-Offset"])


def test_every_list_pages_with_a_maximum(client, session, team):
    team, sup = team
    for n in range(5):
        make_client(session, team, preferred_name=f"C{n}")
        make_staff(session, team)
        make_contact(session, team, created_at=NOW)
        make_key(session, "supervisor", team)
        session.add(AuditLog(actor="test", team_id=team.id, action="x", record_type="x"))
    session.commit()
    for path in (
        f"/v1/teams/{team.id}/clients",
        f"/v1/teams/{team.id}/staff",
        "/v1/keys",
        "/v1/audit",
        f"/v1/teams/{team.id}/review-queue",
    ):
        pages = _pages(client, path, sup, 2)
        assert len(pages) >= 3 and all(len(p) <= 2 for p in pages), path
        ids = [item.get("id") for p in pages for item in p]
        assert len(ids) == len(set(ids)), path
        r = client.get(path, params={"limit": 501}, headers=auth(sup))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "limit", path
        r = client.get(path, params={"offset": -1}, headers=auth(sup))
        assert r.status_code == 422, path
    first = client.get("/v1/contacts", params={"limit": 2}, headers=auth(sup)).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    assert client.get("/v1/contacts", params={"limit": 201}, headers=auth(sup)).status_code == 422


def test_plan_and_resolution_items_have_length_limits(client, session, team):
    team, sup = team
    person = make_client(session, team)
    holder = make_staff(session, team)
    contact = make_contact(
        session, team, created_at=NOW, status="acknowledged", acknowledged_by=holder.id
    )
    session.commit()
    r = client.put(
        f"/v1/clients/{person.id}/crisis-plan",
        json={"warning_signs": ["ok", "x" * 501]},
        headers=auth(sup),
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "warning_signs", 1]
    assert session.scalar(select(func.count()).select_from(CrisisPlan)) == 0
    r = client.post(
        f"/v1/contacts/{contact.id}/resolve",
        json={"outcome": "resolved_by_phone", "risk_level": "low", "referrals": ["y" * 201]},
        headers=auth(sup),
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:3] == ["body", "referrals", 0]
    r = client.put(
        f"/v1/clients/{person.id}/crisis-plan",
        json={"warning_signs": ["x" * 500]},
        headers=auth(sup),
    )
    assert r.status_code == 200


def test_request_bodies_are_capped(client, session, team):
    team, sup = team
    huge = {"preferred_name": "Big", "phones": [], "padding": "x" * 20_000}
    r = client.post(f"/v1/teams/{team.id}/clients", json=huge, headers=auth(sup))
    assert r.status_code == 413 and "at most 10000 bytes" in r.json()["detail"]

    def chunks():
        yield b'{"preferred_name": "'
        for _ in range(30):
            yield b"y" * 1000
        yield b'"}'

    r = client.post(
        f"/v1/teams/{team.id}/clients",
        content=chunks(),
        headers={**auth(sup), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert session.scalar(select(func.count()).select_from(Client)) == 0
    # A chunked body under the cap still arrives whole.
    r = client.post(
        f"/v1/teams/{team.id}/clients",
        content=iter([b'{"preferred_name":', b' "Small"}']),
        headers={**auth(sup), "Content-Type": "application/json"},
    )
    assert r.status_code == 201 and r.json()["preferred_name"] == "Small"


def _plan_token(session, settings, team) -> str:
    person = make_client(session, team)
    url = plan_links.create_plan_link(
        session=session,
        client_id=person.id,
        staff_id=None,
        contact_id=None,
        now=NOW,
        settings=settings,
    )
    session.commit()
    return url.rsplit("/plan/", 1)[1]


def test_plan_links_are_rate_limited_per_address_and_per_token(
    app, client, session, team, settings
):
    team, sup = team
    token, other_token = _plan_token(session, settings, team), _plan_token(session, settings, team)
    for _ in range(3):
        assert client.get(f"/plan/{token}").status_code == 200
    limited = client.get(f"/plan/{token}")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    # The same address guessing another token is limited too …
    assert client.get(f"/plan/{other_token}").status_code == 429
    assert client.get("/plan/guessed-token").status_code == 429
    # … and the same token from another address (the token is counted on its own).
    with TestClient(app, base_url=PUBLIC_BASE_URL, client=("203.0.113.9", 1234)) as elsewhere:
        assert elsewhere.get(f"/plan/{token}").status_code == 429
        assert elsewhere.get(f"/plan/{other_token}").status_code == 200


def test_calendar_links_are_rate_limited(client, session, team):
    team, sup = team
    staff = make_staff(session, team)
    session.commit()
    url = client.post(f"/v1/staff/{staff.id}/calendar-token", headers=auth(sup)).json()["url"]
    path = "/" + url.split("/", 3)[3]
    for _ in range(3):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    r = client.get(path)
    assert r.status_code == 429 and r.headers["Retry-After"]


def test_webhook_refusals_are_rate_limited_and_signed_requests_never(client, session, team):
    team, sup = team
    params = {
        "MessageSid": "SM" + "1" * 32,
        "MessageStatus": "delivered",
        "From": team.crisis_line_number,
    }
    for _ in range(3):
        r = client.post("/twilio/status", data=params, headers={"X-Twilio-Signature": "forged"})
        assert r.status_code == 403
    r = client.post("/twilio/status", data=params, headers={"X-Twilio-Signature": "forged"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # Twilio itself, from the same address, in a burst: never limited, never counted.
    for n in range(10):
        signed = {**params, "MessageSid": f"SM{n:032d}"}
        assert post_signed(client, "/twilio/status", signed).status_code == 204


def test_cache_and_page_headers(client, session, team, settings):
    team, sup = team
    r = client.get(f"/v1/teams/{team.id}", headers=auth(sup))
    assert r.headers["Cache-Control"] == "no-store"
    assert client.get("/v1/keys").headers["Cache-Control"] == "no-store"  # 401 too
    page = client.get(f"/plan/{_plan_token(session, settings, team)}")
    gone = client.get("/plan/nothing-here")
    docs = client.get("/docs")
    for r in (page, gone, docs):
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["Cache-Control"] == "no-store"
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in client.get("/healthz").headers
