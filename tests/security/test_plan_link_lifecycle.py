"""Plan links die with the client's discharge or the staff member's deactivation."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.clients import plan_links
from app.clients.models import CrisisPlan, PlanLink
from tests.conftest import auth
from tests.factories import make_client, make_key, make_staff, make_team
from tests.security.conftest import NOW


def _link(session, settings, client_id: int, staff_id: int | None) -> str:
    url = plan_links.create_plan_link(
        session=session,
        client_id=client_id,
        staff_id=staff_id,
        contact_id=None,
        now=NOW,
        settings=settings,
    )
    return url.rsplit("/plan/", 1)[1]


@pytest.fixture
def world(session, client, clock, settings):
    team = make_team(session)
    sup = make_key(session, "supervisor", team)
    on_call = make_staff(session, team, name="Olive")
    other = make_staff(session, team, name="Oscar")
    sam = make_client(session, team)
    session.add(CrisisPlan(client_id=sam.id, version=1, sections={"warning_signs": ["pacing"]}))
    tokens = {
        "olive": _link(session, settings, sam.id, on_call.id),
        "oscar": _link(session, settings, sam.id, other.id),
        "api": _link(session, settings, sam.id, None),
    }
    session.commit()
    return team, sup, on_call, sam, tokens


def test_deactivating_staff_kills_the_links_sent_to_them(client, session, world):
    team, sup, on_call, sam, tokens = world
    assert all(client.get(f"/plan/{t}").status_code == 200 for t in tokens.values())
    r = client.patch(f"/v1/staff/{on_call.id}", json={"active": False}, headers=auth(sup))
    assert r.status_code == 200, r.text
    assert client.get(f"/plan/{tokens['olive']}").status_code == 404
    assert client.get(f"/plan/{tokens['oscar']}").status_code == 200
    revoked = session.exec(select(PlanLink).where(PlanLink.staff_id == on_call.id)).one()
    assert revoked.revoked_at == NOW
    # Reactivating the person does not bring the old link back.
    client.patch(f"/v1/staff/{on_call.id}", json={"active": True}, headers=auth(sup))
    assert client.get(f"/plan/{tokens['olive']}").status_code == 404


def test_discharge_revokes_every_link_of_the_client(client, session, world):
    team, sup, on_call, sam, tokens = world
    r = client.patch(f"/v1/clients/{sam.id}", json={"status": "discharged"}, headers=auth(sup))
    assert r.status_code == 200, r.text
    for token in tokens.values():
        page = client.get(f"/plan/{token}")
        assert page.status_code == 404 and "pacing" not in page.text
    session.expire_all()
    links = session.exec(select(PlanLink).where(PlanLink.client_id == sam.id)).all()
    assert all(link.revoked_at == NOW for link in links)


def test_a_link_is_refused_for_a_discharged_client_or_inactive_staff_even_unrevoked(session, world):
    # Whatever path discharged or deactivated (an import, a script), the
    # link check itself looks at both.
    team, sup, on_call, sam, tokens = world
    assert plan_links.find_plan_link(session=session, token=tokens["olive"], now=NOW)
    on_call.active = False
    session.add(on_call)
    session.flush()
    assert plan_links.find_plan_link(session=session, token=tokens["olive"], now=NOW) is None
    assert plan_links.find_plan_link(session=session, token=tokens["api"], now=NOW)
    sam.status = "discharged"
    session.add(sam)
    session.flush()
    assert plan_links.find_plan_link(session=session, token=tokens["api"], now=NOW) is None
