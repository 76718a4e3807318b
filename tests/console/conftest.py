"""Console fixtures: the SMS suite's world (a team, its people, a client, a
rota, a fake clock, Twilio mocked) and a signed-in browser session.

`sign_in(client, staff)` goes through the real sign-in: the code is read
from the outbox row the service queued to the person's phone."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.messaging.models import OutboundMessage
from tests.console.browser import browser, live, page, phone_page  # noqa: F401
from tests.world import clock, route_inbox, text_in, tick, twilio, world  # noqa: F401

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "the page has no csrf_token field"
    return match.group(1)


def last_code_to(db, phone: str) -> str:
    with db.session() as s:
        row = (
            s.execute(
                select(OutboundMessage)
                .where(
                    OutboundMessage.to_number == phone,
                    OutboundMessage.purpose == "sign_in_code",
                )
                .order_by(OutboundMessage.id.desc())
            )
            .scalars()
            .first()
        )
    assert row is not None, "no sign-in code was queued"
    return re.search(r"\b(\d{6})\b", row.body).group(1)


def ask_code(client, phone: str):
    login = client.get("/console/login")
    return client.post("/console/login", data={"phone": phone, "csrf_token": csrf_of(login.text)})


def enter_code(client, code: str, *, follow_redirects: bool = False):
    login = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"code": code, "csrf_token": csrf_of(login.text)},
        follow_redirects=follow_redirects,
    )


def sign_in(client, db, staff) -> None:
    assert ask_code(client, staff.phone).status_code == 200
    response = enter_code(client, last_code_to(db, staff.phone))
    assert response.status_code == 303 and response.headers["location"] == "/console"
