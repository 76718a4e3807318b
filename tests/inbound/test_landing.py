"""On SQLite the webhook writes texts to a landing file of their own, so
Twilio's answer never waits for the router's hold on the main file; the
router hands them to the inbox in arrival order, and nothing is lost or
doubled on the way. A real SQLite file (the landing exists only beside one)."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import migrations
from app.contacts.models import Contact, ContactEvent
from app.db import Database
from app.inbound.inbox import route_pending
from app.inbound.landing import InboxLanding
from app.inbound.message import InboundSms
from app.messaging.models import InboxMessage
from tests.conftest import PUBLIC_BASE_URL, make_settings
from tests.factories import make_client, make_staff, make_team
from tests.twilio_signing import post_signed

NOW = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
LINE = "+19735550100"
CLIENT_PHONES = ["+12015550150", "+12015550152", "+12015550153"]


@pytest.fixture
def file_app(tmp_path):
    from app.main import create_app

    url = f"sqlite:///{tmp_path / 'crisisroute.db'}"
    database = Database.from_url(url)
    migrations.upgrade(database.engine)
    with database.session() as session:
        team = make_team(
            session, name="North ICM", crisis_line_number=LINE, fallback_number="+19085550111"
        )
        cm = make_staff(session, team, name="Casey Manager", phone="+12015550181")
        for phone in CLIENT_PHONES:
            make_client(
                session,
                team,
                preferred_name="Sam",
                assigned_case_manager_id=cm.id,
                phones=[(phone, "self")],
            )
    app = create_app(
        make_settings(url, messaging_transport="outbox"),
        db=database,
        run_worker=False,
        configure_logs=False,
    )
    app.state.runtime.clock = lambda: NOW
    with TestClient(app, base_url=PUBLIC_BASE_URL) as client:
        yield client, database, tmp_path / "crisisroute.db"


def sms(client, sid: str, from_number: str = CLIENT_PHONES[0], body: str = "I need help"):
    return post_signed(
        client,
        "/twilio/sms",
        {
            "MessageSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": from_number,
            "To": LINE,
            "Body": body,
            "NumMedia": "0",
        },
    )


def inbox_rows(database) -> list[InboxMessage]:
    with database.session() as session:
        return list(session.execute(select(InboxMessage).order_by(InboxMessage.id)).scalars())


def test_the_webhook_answers_while_the_router_holds_the_main_file(file_app):
    """The point of the landing: another process holding the main file's
    write lock (the router, mid-text) does not hold up Twilio's answer."""
    client, database, path = file_app
    router = sqlite3.connect(path, isolation_level=None, timeout=0)
    router.execute("BEGIN IMMEDIATE")
    try:
        response = sms(client, "SMheld0000000000000000000000000001")
        assert response.status_code == 200 and "<Response" in response.text
    finally:
        router.execute("ROLLBACK")
        router.close()
    landing = client.app.state.runtime.inbox.landing
    assert landing is not None and landing.waiting() == 1
    assert inbox_rows(database) == []  # not in the inbox until the router takes it


def test_landed_texts_are_handed_over_in_arrival_order_and_routed(file_app):
    client, database, _ = file_app
    runtime = client.app.state.runtime
    sids = [f"SMorder{i:027d}" for i in range(4)]
    senders = [CLIENT_PHONES[0], CLIENT_PHONES[1], CLIENT_PHONES[0], CLIENT_PHONES[2]]
    for sid, sender in zip(sids, senders, strict=True):
        assert sms(client, sid, sender).status_code == 200
    assert route_pending(runtime) == 4
    rows = inbox_rows(database)
    assert [r.message_sid for r in rows] == sids
    assert all(r.processed_at == NOW for r in rows)
    assert [r.from_number for r in rows] == senders
    assert all(
        r.received_at == NOW for r in rows
    )  # when the webhook took it, not when it was handed over
    assert runtime.inbox.landing.waiting() == 0
    with database.session() as session:
        assert sorted(c.from_number for c in session.execute(select(Contact)).scalars()) == sorted(
            senders
        )


def test_a_retry_is_a_duplicate_before_and_after_the_hand_over(file_app):
    from prometheus_client import REGISTRY

    def duplicates() -> float:
        return (
            REGISTRY.get_sample_value(
                "crisisroute_webhooks_total", {"kind": "sms", "result": "duplicate"}
            )
            or 0.0
        )

    client, database, _ = file_app
    runtime = client.app.state.runtime
    before = duplicates()
    assert sms(client, "SMretry000000000000000000000000001").status_code == 200
    assert sms(client, "SMretry000000000000000000000000001").status_code == 200
    assert runtime.inbox.landing.waiting() == 1
    route_pending(runtime)
    assert (
        sms(client, "SMretry000000000000000000000000001").status_code == 200
    )  # after: still a duplicate
    assert runtime.inbox.landing.waiting() == 0
    assert duplicates() - before == 2
    assert [r.message_sid for r in inbox_rows(database)] == ["SMretry000000000000000000000000001"]


def test_a_hand_over_cut_short_copies_again_without_doubling(file_app):
    """The router copied texts into the inbox and died before marking the
    landed rows moved (it marks about once a second): the next router
    copies them again, ignored."""
    client, database, _ = file_app
    runtime = client.app.state.runtime
    for i in range(3):
        assert sms(client, f"SMcut{i:029d}", CLIENT_PHONES[i]).status_code == 200

    dying = InboxLanding.beside(database)
    try:
        assert dying.move_into(database, now=NOW) == 3  # copied, not marked yet
    finally:
        dying.close()  # killed here: the marks it owed are lost
    assert len(inbox_rows(database)) == 3 and runtime.inbox.landing.waiting() == 3

    restarted = InboxLanding.beside(database)
    try:
        assert restarted.move_into(database, now=NOW) == 3
        assert route_pending(runtime) == 3
        assert [r.outcome for r in inbox_rows(database)] == ["opened"] * 3
        with database.session() as session:
            assert len(list(session.execute(select(Contact)).scalars())) == 3
        assert restarted.move_into(database, now=NOW) == 0  # nothing new: marks what it copied
        assert restarted.waiting() == 0
    finally:
        restarted.close()


def test_the_hand_over_marks_about_once_a_second_while_texts_keep_coming(file_app, monkeypatch):
    """Each mark is a write a webhook may wait for: while texts keep coming
    they are marked once a second, and at once when none came since."""
    import app.inbound.landing as landing_module

    client, database, _ = file_app
    landing = client.app.state.runtime.inbox.landing
    clock = [time.monotonic() + 5]
    monkeypatch.setattr(landing_module.time, "monotonic", lambda: clock[0])
    assert sms(client, "SMmark00000000000000000000000000001").status_code == 200
    assert landing.move_into(database, now=NOW) == 1
    assert landing.waiting() == 0  # it had not marked for over a second
    assert sms(client, "SMmark00000000000000000000000000002").status_code == 200
    clock[0] += 0.1
    assert landing.move_into(database, now=NOW) == 1
    assert landing.waiting() == 1  # copied; mark owed
    assert sms(client, "SMmark00000000000000000000000000003").status_code == 200
    clock[0] += 0.1
    assert landing.move_into(database, now=NOW) == 1
    assert landing.waiting() == 2
    clock[0] += 1.0
    assert sms(client, "SMmark00000000000000000000000000004").status_code == 200
    assert landing.move_into(database, now=NOW) == 1
    assert landing.waiting() == 0  # a second since the last mark
    assert [r.message_sid[-1] for r in inbox_rows(database)] == ["1", "2", "3", "4"]


def test_moved_texts_are_forgotten_after_a_day(file_app):
    client, database, _ = file_app
    runtime = client.app.state.runtime
    landing = runtime.inbox.landing
    assert sms(client, "SMold0000000000000000000000000001").status_code == 200
    assert sms(client, "SMnew0000000000000000000000000001").status_code == 200
    landing.move_into(database, now=NOW)
    assert landing.forget_moved(now=NOW + timedelta(hours=23)) == 0
    assert landing.forget_moved(now=NOW + timedelta(days=1, seconds=1)) == 2
    assert sms(client, "SMlate000000000000000000000000001").status_code == 200
    assert landing.forget_moved(now=NOW + timedelta(days=1, seconds=2)) == 0  # not moved yet: kept


def test_no_landing_on_postgresql_or_a_shared_test_connection(db):
    assert InboxLanding.beside(db) is None


def test_the_webhook_writes_at_once_when_the_landing_is_free_and_never_waits_on_the_event_loop(
    file_app,
):
    """The event loop itself writes a text only when nothing can make it
    wait; while the hand-over holds the landing file's lock it leaves the
    write to a thread (None), and the webhook still records the text."""
    import fcntl
    import threading

    client, database, _ = file_app
    landing = client.app.state.runtime.inbox.landing
    assert (
        sms(client, "SMfree0000000000000000000000000001").status_code == 200
    )  # the file is ready now

    def text(sid: str) -> InboundSms:
        return InboundSms(
            message_sid=sid, from_number=CLIENT_PHONES[1], body="hello", to_number=LINE
        )

    assert (
        landing.record_without_waiting(text("SMfree0000000000000000000000000002"), now=NOW) is True
    )
    assert (
        landing.record_without_waiting(text("SMfree0000000000000000000000000002"), now=NOW) is False
    )

    with open(
        landing.write_lock.path, "a+b"
    ) as hand_over:  # another holder of the lock, as the router is
        fcntl.flock(hand_over.fileno(), fcntl.LOCK_EX)
        assert (
            landing.record_without_waiting(text("SMfree0000000000000000000000000003"), now=NOW)
            is None
        )
        released = threading.Timer(0.2, fcntl.flock, (hand_over.fileno(), fcntl.LOCK_UN))
        released.start()
        try:
            assert (
                sms(client, "SMfree0000000000000000000000000003").status_code == 200
            )  # waited in a thread
        finally:
            released.join()
    assert landing.waiting() == 3


def test_an_mms_s_attachments_cross_the_landing_file_with_its_text(file_app):
    client, database, _path = file_app
    url = (
        "https://twilio.test/2010-04-01/Accounts/AC"
        + "0" * 32
        + "/Messages/MM"
        + "1" * 32
        + "/Media/ME"
        + "1" * 32
    )
    params = {
        "MessageSid": "MMlanded000000000000000000000001",
        "AccountSid": "AC" + "0" * 32,
        "From": CLIENT_PHONES[0],
        "To": LINE,
        "Body": "",
        "NumMedia": "1",
        "MediaUrl0": url,
        "MediaContentType0": "image/jpeg",
    }
    assert post_signed(client, "/twilio/sms", params).status_code == 200
    assert inbox_rows(database) == []  # on the landing file, not yet handed over
    route_pending(client.app.state.runtime)
    [row] = inbox_rows(database)
    assert row.media == [{"url": url, "content_type": "image/jpeg"}]
    with database.session() as session:
        contact = session.execute(select(Contact)).scalar_one()
        received = session.execute(
            select(ContactEvent).where(
                ContactEvent.contact_id == contact.id, ContactEvent.kind == "received"
            )
        ).scalar_one()
        assert received.data["media"] == row.media
