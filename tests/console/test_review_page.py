"""The morning review page: the API's review queue, and marking a contact
reviewed through the same service function as POST /v1/contacts/{id}/review."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.auth.models import AuditLog
from app.contacts.models import Contact
from tests.console.conftest import csrf_of, sign_in
from tests.factories import make_contact

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def _card_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'class="card-title" href="/console/contacts/(\d+)"', html)]


def _queue(session, world, clock):
    now = clock.now
    unanswered = make_contact(
        session, world.team, created_at=now - timedelta(hours=3), status="unanswered"
    )
    resolved = make_contact(
        session,
        world.team,
        created_at=now - timedelta(hours=1),
        status="resolved",
        risk_level="low",
        outcome="resolved_by_phone",
        client_id=world.client_row.id,
    )
    reviewed = make_contact(
        session,
        world.team,
        created_at=now - timedelta(hours=2),
        status="resolved",
        reviewed_at=now - timedelta(minutes=5),
    )
    other_team = make_contact(session, world.other_team, created_at=now - timedelta(minutes=2))
    session.commit()
    return unanswered, resolved, reviewed, other_team


def test_the_review_page_lists_the_api_queue_in_its_order(client, db, world, session, clock):
    unanswered, resolved, reviewed, other_team = _queue(session, world, clock)
    api = client.get(
        f"/v1/teams/{world.team.id}/review-queue",
        headers={"Authorization": f"Bearer {world.supervisor_key}"},
    ).json()
    sign_in(client, db, world.supervisor)
    page = client.get("/console/review")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert _card_ids(page.text) == [row["id"] for row in api] == [unanswered.id, resolved.id]
    assert world.client_row.preferred_name in page.text
    assert 'href="/console/review"' in client.get("/console").text  # in the nav


def test_marking_reviewed_takes_it_off_the_queue_audited_with_the_note(
    client, db, world, session, clock
):
    unanswered, resolved, _, _ = _queue(session, world, clock)
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get("/console/review").text)
    done = client.post(
        f"/console/review/{resolved.id}",
        data={"csrf_token": token, "note": SCRIPT},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    assert _card_ids(page.text) == [unanswered.id]
    assert "Marked reviewed" in page.text
    with db.session() as s:
        row = s.get(Contact, resolved.id)
        assert row.reviewed_at == clock.now and row.review_note == SCRIPT
        assert row.reviewed_by
        audits = (
            s.execute(select(AuditLog).where(AuditLog.action == "contact.review")).scalars().all()
        )
        assert [a.record_id for a in audits] == [resolved.id]


def test_review_refuses_without_csrf_a_too_long_note_and_other_roles(
    client, db, world, session, clock
):
    unanswered, resolved, _, other_team = _queue(session, world, clock)
    sign_in(client, db, world.supervisor)
    token = csrf_of(client.get("/console/review").text)
    assert client.post(f"/console/review/{resolved.id}", data={"note": "x"}).status_code == 403
    too_long = client.post(
        f"/console/review/{resolved.id}", data={"csrf_token": token, "note": "y" * 2001}
    )
    assert too_long.status_code == 422
    assert f'id="note-{resolved.id}-error"' in too_long.text
    assert (
        client.post(f"/console/review/{other_team.id}", data={"csrf_token": token}).status_code
        == 404
    )
    with db.session() as s:
        assert s.get(Contact, resolved.id).reviewed_at is None
        assert s.get(Contact, other_team.id).reviewed_at is None
    client.cookies.clear()
    sign_in(client, db, world.case_manager)
    assert client.get("/console/review").status_code == 403
    assert 'href="/console/review"' not in client.get("/console").text


def test_user_entered_text_on_the_review_page_is_escaped(client, db, world, session, clock):
    world.client_row.preferred_name = SCRIPT
    session.add(world.client_row)
    session.commit()
    _queue(session, world, clock)
    sign_in(client, db, world.supervisor)
    page = client.get("/console/review")
    assert "<script>alert" not in page.text and ESCAPED in page.text
