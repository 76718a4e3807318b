"""A photo (MMS) reaches a human: recorded with the text, named to staff with
a link, shown through the service's authenticated proxy (fetched from Twilio
with the account's credentials, never stored, every view audited), and
nothing but this account's Twilio media is ever fetched. Signed webhooks in;
Twilio's REST API and its media stood in for by respx."""

from __future__ import annotations

import itertools
import re

import httpx
from sqlalchemy import select

from app.auth.models import AuditLog
from app.contacts.models import Contact, ContactEvent
from app.messaging.models import InboxMessage
from tests.conftest import PUBLIC_BASE_URL, TWILIO_API, TWILIO_SID, TWILIO_TOKEN
from tests.twilio_signing import post_signed
from tests.world import route_inbox, text_in, tick

LINK = re.compile(re.escape(PUBLIC_BASE_URL) + r"(/plan/[A-Za-z0-9_-]+)")
PHOTO = b"\xff\xd8\xff\xe0 a photo's bytes"
_sids = itertools.count(1)


def media_url(n: int) -> str:
    return f"{TWILIO_API}/2010-04-01/Accounts/{TWILIO_SID}/Messages/MM{n:032x}/Media/ME{n:032x}"


def mms_in(client, world, from_number: str, body: str, media: list[tuple[str, str]]):
    params = {
        "MessageSid": f"MM{next(_sids):032x}",
        "AccountSid": TWILIO_SID,
        "From": from_number,
        "To": world.team.crisis_line_number,
        "Body": body,
        "NumMedia": str(len(media)),
    }
    for n, (url, content_type) in enumerate(media):
        params[f"MediaUrl{n}"] = url
        params[f"MediaContentType{n}"] = content_type
    response = post_signed(client, "/twilio/sms", params)
    route_inbox(client.app)
    return response


def _path(body: str) -> str:
    match = LINK.search(body)
    assert match, f"no link in {body!r}"
    return match.group(1)


def _media_reads(session) -> list[AuditLog]:
    session.expire_all()
    return list(
        session.execute(select(AuditLog).where(AuditLog.action == "contact.media_read")).scalars()
    )


def test_a_photo_alone_opens_a_contact_that_reaches_a_human(client, world, session, twilio):
    response = mms_in(client, world, world.client_phone, "", [(media_url(1), "image/jpeg")])
    assert response.status_code == 200
    contact = session.execute(select(Contact)).scalar_one()
    [received] = session.execute(
        select(ContactEvent).where(ContactEvent.kind == "received")
    ).scalars()
    assert received.data == {
        "body": "",
        "media": [{"url": media_url(1), "content_type": "image/jpeg"}],
    }
    [inbox] = session.execute(select(InboxMessage)).scalars()
    assert inbox.media == [{"url": media_url(1), "content_type": "image/jpeg"}]
    [note] = twilio.to(world.case_manager.phone)
    assert f"#{contact.id}" in note.body and note.body.endswith('Said: "(sent a photo)"')
    page = client.get(_path(note.body))
    assert page.status_code == 200 and "Open the photo" in page.text


def test_after_acknowledgement_the_holder_gets_the_photo_with_a_link_that_shows_it(
    client, world, session, twilio
):
    cm = world.case_manager.phone
    text_in(client, world, world.client_phone, "I want to show you something")
    contact = session.execute(select(Contact)).scalar_one()
    text_in(client, world, cm, "ACK")
    before = len(twilio.to(cm))

    mms_in(client, world, world.client_phone, "this is it", [(media_url(2), "image/png")])

    words, notice = [m.body for m in twilio.to(cm)[before:]]
    assert words == f"#{contact.id}: this is it"
    assert notice.startswith(f"#{contact.id} sent a photo: {PUBLIC_BASE_URL}/plan/")
    route = twilio.mock.get(media_url(2)).respond(
        200, content=PHOTO, headers={"content-type": "image/png"}
    )
    page = client.get(_path(notice))
    href = re.search(r'href="(/plan/[^"]+/media/\d+/0)"', page.text).group(1)

    shown = client.get(href)

    assert shown.status_code == 200 and shown.content == PHOTO
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["cache-control"] == "no-store"
    assert shown.headers["content-disposition"] == "inline"
    assert "sandbox" in shown.headers["content-security-policy"]
    # Fetched with the account's credentials.
    sent = route.calls.last.request
    assert sent.headers["authorization"] == httpx.BasicAuth(TWILIO_SID, TWILIO_TOKEN)._auth_header
    [read] = _media_reads(session)
    assert read.record_id == contact.id and read.actor.startswith("plan-link:")
    client.get(href)
    assert len(_media_reads(session)) == 2  # each view


def test_before_acknowledgement_everyone_paged_gets_the_file_type(
    client, world, session, twilio, clock
):
    text_in(client, world, world.client_phone, "help")
    contact = session.execute(select(Contact)).scalar_one()
    clock.advance(seconds=301)
    tick(client.app)  # level 2: the backup case manager is paged too
    paged = [world.backup_cm.phone]
    before = {p: len(twilio.to(p)) for p in paged}
    mms_in(client, world, world.client_phone, "", [(media_url(3), "application/pdf")])
    for phone in paged:
        [notice] = [m.body for m in twilio.to(phone)[before[phone] :]]
        assert notice.startswith(f"#{contact.id} sent a PDF file: {PUBLIC_BASE_URL}/plan/")
    # The level before is not in the conversation any more.
    assert not twilio.to(world.case_manager.phone)[-1].body.startswith(f"#{contact.id} sent")


def test_a_url_that_is_not_this_accounts_twilio_media_is_never_fetched(
    client, world, session, twilio
):
    elsewhere = [
        "https://evil.example.org/2010-04-01/Accounts/"
        + TWILIO_SID
        + "/Messages/MM"
        + "1" * 32
        + "/Media/ME"
        + "1" * 32,
        f"{TWILIO_API}/2010-04-01/Accounts/AC{'9' * 32}/Messages/MM{'1' * 32}/Media/ME{'1' * 32}",
        f"{TWILIO_API}/2010-04-01/Accounts/{TWILIO_SID}/Messages/MM{'1' * 32}/Media/../../x",
    ]
    for url in elsewhere:
        twilio.mock.get(url).respond(200, content=b"should never be asked for")
    mms_in(client, world, world.client_phone, "", [(u, "image/jpeg") for u in elsewhere])
    [note] = twilio.to(world.case_manager.phone)
    path = _path(note.body)
    ref = session.execute(
        select(ContactEvent.id).where(ContactEvent.kind == "received")
    ).scalar_one()
    for n in range(3):
        refused = client.get(f"{path}/media/{ref}/{n}")
        assert refused.status_code == 403, refused.text
    assert [c.request.url for c in twilio.mock.calls if c.request.method == "GET"] == []
    assert _media_reads(session) == []


def test_a_dead_link_or_a_wrong_attachment_shows_nothing(client, world, session, twilio, clock):
    mms_in(client, world, world.client_phone, "", [(media_url(4), "image/jpeg")])
    [note] = twilio.to(world.case_manager.phone)
    path = _path(note.body)
    ref = session.execute(
        select(ContactEvent.id).where(ContactEvent.kind == "received")
    ).scalar_one()
    assert client.get(f"{path}/media/{ref}/1").status_code == 404  # no second attachment
    assert client.get(f"{path}/media/{ref + 999}/0").status_code == 404
    assert client.get(f"/plan/not-a-token/media/{ref}/0").status_code == 404
    clock.advance(hours=13)
    assert client.get(f"{path}/media/{ref}/0").status_code == 404
    assert _media_reads(session) == []


def test_twilio_failing_to_give_the_media_is_a_502_not_a_crash(client, world, session, twilio):
    mms_in(client, world, world.client_phone, "", [(media_url(5), "image/jpeg")])
    [note] = twilio.to(world.case_manager.phone)
    twilio.mock.get(media_url(5)).respond(404)
    ref = session.execute(
        select(ContactEvent.id).where(ContactEvent.kind == "received")
    ).scalar_one()
    assert client.get(f"{_path(note.body)}/media/{ref}/0").status_code == 502


def test_an_impossible_media_count_or_url_is_a_400_and_records_nothing(
    client, world, session, twilio
):
    base = {
        "AccountSid": TWILIO_SID,
        "From": world.client_phone,
        "To": world.team.crisis_line_number,
        "Body": "hi",
    }
    for n, (extra, field) in enumerate(
        [
            ({"NumMedia": "eleven"}, "NumMedia"),
            ({"NumMedia": "11"}, "NumMedia"),
            ({"NumMedia": "1"}, "MediaUrl0"),
            ({"NumMedia": "1", "MediaUrl0": "http://plain.example/x.jpg"}, "MediaUrl0"),
        ]
    ):
        params = {**base, **extra, "MessageSid": f"SMbad{n:029d}"}
        response = post_signed(client, "/twilio/sms", params)
        assert response.status_code == 400 and field in response.text
    assert session.execute(select(InboxMessage)).first() is None


def test_an_unknown_caller_s_photo_has_a_link_too(client, world, session, twilio):
    mms_in(client, world, "+12015550177", "", [(media_url(6), "image/jpeg")])
    contact = session.execute(select(Contact)).scalar_one()
    assert contact.client_id is None
    [note] = twilio.to(world.oncall.phone)
    assert "Texts: " in note.body
    page = client.get(_path(note.body))
    assert page.status_code == 200 and "Open the photo" in page.text
    assert "Unknown caller: no plan." in page.text
