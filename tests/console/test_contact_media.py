"""The console's contact page opens a caller's photo through the service,
like the staff link's page: after the page's own access check, fetched from
Twilio with the account's credentials, streamed, audited."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.auth.models import AuditLog
from tests.console.conftest import sign_in
from tests.factories import make_staff
from tests.inbound.test_mms import PHOTO, media_url, mms_in


def test_a_signed_in_case_manager_opens_the_photo_and_another_team_cannot(
    client, world, session, twilio, db
):
    mms_in(client, world, world.client_phone, "look", [(media_url(21), "image/jpeg")])
    twilio.mock.get(media_url(21)).respond(
        200, content=PHOTO, headers={"content-type": "image/jpeg"}
    )
    sign_in(client, db, world.case_manager)
    contact_id = re.search(r"/console/contacts/(\d+)", client.get("/console").text).group(1)
    page = client.get(f"/console/contacts/{contact_id}")
    href = re.search(r'href="(/console/contacts/\d+/media/\d+/0)"', page.text).group(1)

    shown = client.get(href)

    assert shown.status_code == 200 and shown.content == PHOTO
    assert shown.headers["cache-control"] == "no-store"
    session.expire_all()
    reads = session.execute(
        select(AuditLog).where(AuditLog.action == "contact.media_read")
    ).scalars()
    [read] = list(reads)
    assert read.detail["via"] == "console" and read.record_id == int(contact_id)

    outsider = make_staff(session, world.other_team, name="Otto", phone="+12015550199")
    session.commit()
    client.cookies.clear()
    sign_in(client, db, outsider)
    assert client.get(href).status_code == 404
