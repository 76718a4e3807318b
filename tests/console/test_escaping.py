"""Every page renders user-entered text as text: a `<script>` in every field
a person or a caller can fill shows up escaped, never as markup."""

from __future__ import annotations

from sqlalchemy import select

from app.clients.models import PLAN_SECTIONS, CrisisPlan
from app.contacts.models import Contact
from tests.console.conftest import ask_code, csrf_of, sign_in, text_in

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def _assert_inert(html: str, *, expect_escaped: bool = True) -> None:
    assert "<script>alert" not in html
    if expect_escaped:
        assert ESCAPED in html


def test_script_in_every_user_entered_field_is_escaped_on_every_page(client, db, world, session):
    world.client_row.preferred_name = SCRIPT
    world.case_manager.name = SCRIPT
    world.supervisor.name = SCRIPT + " Sue"
    session.add_all([world.client_row, world.case_manager, world.supervisor])
    session.add(
        CrisisPlan(
            client_id=world.client_row.id,
            version=1,
            sections={name: [SCRIPT] for name in PLAN_SECTIONS},
            notes=SCRIPT,
            preferred_hospital=SCRIPT,
            advance_directive_notes=SCRIPT,
        )
    )
    session.commit()
    text_in(client, world, world.client_phone, SCRIPT)
    contact = session.execute(select(Contact).order_by(Contact.id.desc())).scalars().first()

    # the sign-in page echoes what was typed in the phone field
    _assert_inert(ask_code(client, SCRIPT).text)

    sign_in(client, db, world.supervisor)
    board = client.get("/console")
    _assert_inert(board.text)
    _assert_inert(client.get("/console/board").text)

    page = client.get(f"/console/contacts/{contact.id}")
    token = csrf_of(page.text)
    client.post(f"/console/contacts/{contact.id}/notes", data={"csrf_token": token, "text": SCRIPT})
    refused = client.post(
        f"/console/contacts/{contact.id}/resolve",
        data={"csrf_token": token, "outcome": SCRIPT, "risk_level": SCRIPT, "notes": SCRIPT},
    )
    _assert_inert(refused.text)
    client.post(
        f"/console/contacts/{contact.id}/resolve",
        data={
            "csrf_token": token,
            "outcome": "non_crisis",
            "risk_level": "low",
            "notes": SCRIPT,
            "referrals": SCRIPT,
        },
    )
    html = client.get(f"/console/contacts/{contact.id}").text
    _assert_inert(html)
    assert html.count(ESCAPED) >= len(PLAN_SECTIONS) + 5  # plan, name, caller, note, staff
    # every page's only scripts are the vendored file
    for text in (board.text, html):
        assert text.count("<script") == 1 and 'src="/console/static/vendor/htmx.min.js"' in text
