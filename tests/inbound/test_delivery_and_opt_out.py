"""Outbound delivery: the outbox, retries, Twilio status callbacks, opt-outs,
and the database-free fallback URL."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.contacts.models import ContactEvent
from app.db import Database, make_engine
from app.main import create_app
from app.messaging.models import EarlyStatusCallback, OutboundMessage
from tests.conftest import PUBLIC_BASE_URL, make_settings
from tests.twilio_signing import post_signed
from tests.world import text_in, the_contact


def status(client, sid: str, value: str, error_code: str | None = None):
    params = {"MessageSid": sid, "MessageStatus": value, "AccountSid": "AC"}
    if error_code:
        params["ErrorCode"] = error_code
    return post_signed(client, "/twilio/status", params)


def test_undelivered_notification_escalates_at_once(client, app, world, session, twilio, clock):
    text_in(client, world, world.client_phone, "hello")
    [note] = twilio.to(world.case_manager.phone)
    assert status(client, note.sid, "sent").status_code == 204
    assert twilio.to(world.backup_cm.phone) == []
    assert status(client, note.sid, "undelivered", "30003").status_code == 204
    assert len(twilio.to(world.backup_cm.phone)) == 1
    contact = the_contact(session)
    assert contact.level == 2
    kinds = [
        e.kind
        for e in session.execute(
            select(ContactEvent).where(ContactEvent.contact_id == contact.id)
        ).scalars()
    ]
    assert "delivery_failed" in kinds
    # A repeated callback changes nothing more.
    status(client, note.sid, "undelivered", "30003")
    assert len(twilio.to(world.oncall.phone)) == 0


def test_an_undelivered_callback_that_overtakes_our_write_of_the_sid_still_escalates(
    client, app, world, session, twilio, clock
):
    def twilio_calls_back_first(message):
        if message.to == world.case_manager.phone:
            assert status(client, message.sid, "undelivered", "30003").status_code == 204

    twilio.before_answer = twilio_calls_back_first
    text_in(client, world, world.client_phone, "hello")
    twilio.before_answer = None
    [note] = twilio.to(world.case_manager.phone)
    session.expire_all()
    row = session.execute(
        select(OutboundMessage).where(OutboundMessage.provider_sid == note.sid)
    ).scalar_one()
    assert (row.status, row.error_code) == ("undelivered", "30003")
    assert len(twilio.to(world.backup_cm.phone)) == 1  # escalated at once, not after the timeout
    assert the_contact(session).level == 2
    assert session.execute(select(EarlyStatusCallback)).scalars().all() == []


def test_an_early_callback_committed_just_after_the_send_looked_is_applied_by_the_sweep(
    client, app, world, session, twilio, clock
):
    from app.jobs import outbox_sweep

    text_in(client, world, world.client_phone, "hello")
    [note] = twilio.to(world.case_manager.phone)
    # As if the webhook had looked before the SID was written and committed after the batch looked.
    session.add(
        EarlyStatusCallback(
            provider_sid=note.sid, status="undelivered", error_code="30003", received_at=clock.now
        )
    )
    session.commit()
    outbox_sweep(app.state.runtime)
    assert len(twilio.to(world.backup_cm.phone)) == 1
    assert the_contact(session).level == 2
    assert session.execute(select(EarlyStatusCallback)).scalars().all() == []


def test_an_early_callback_nobody_claims_is_forgotten_after_a_day(
    client, app, world, session, clock
):
    from app.messaging.results import forget_unclaimed_callbacks

    assert status(client, "SMnotours", "delivered").status_code == 204
    forget_unclaimed_callbacks(session=session, now=clock.now + timedelta(hours=23))
    assert len(session.execute(select(EarlyStatusCallback)).scalars().all()) == 1
    forget_unclaimed_callbacks(session=session, now=clock.now + timedelta(hours=25))
    assert session.execute(select(EarlyStatusCallback)).scalars().all() == []


def test_status_only_moves_forward(client, world, session, twilio):
    text_in(client, world, world.client_phone, "hello")
    [note] = twilio.to(world.case_manager.phone)
    status(client, note.sid, "delivered")
    status(client, note.sid, "sent")  # late and out of order
    session.expire_all()
    row = session.execute(
        select(OutboundMessage).where(OutboundMessage.provider_sid == note.sid)
    ).scalar_one()
    assert row.status == "delivered"


def test_twilio_outage_is_retried_and_delivered_after_recovery(
    client, app, world, session, twilio, clock
):
    twilio.fail_next = [
        httpx.Response(500, json={"code": 20500, "message": "down", "status": 500})
    ] * 2
    r = text_in(client, world, world.client_phone, "hello")
    assert r.status_code == 200  # the webhook never depends on Twilio's REST API
    session.expire_all()
    pending = (
        session.execute(select(OutboundMessage).where(OutboundMessage.status == "pending"))
        .scalars()
        .all()
    )
    assert pending, "failed sends must stay queued for retry"
    clock.advance(seconds=5)
    app.state.runtime.dispatcher.drain()
    clock.advance(seconds=5)
    app.state.runtime.dispatcher.drain()
    assert len(twilio.to(world.client_phone)) == 1 and len(twilio.to(world.case_manager.phone)) == 1
    session.expire_all()
    assert (
        session.execute(select(OutboundMessage).where(OutboundMessage.status == "pending")).first()
        is None
    )


def test_permanent_failure_21610_counts_as_undelivered_and_escalates(
    client, app, world, session, twilio, clock
):
    # The auto-reply goes first, the case manager's notification second.
    twilio.fail_next = [
        httpx.Response(201, json={"sid": "SMauto", "status": "queued"}),
        httpx.Response(400, json={"code": 21610, "message": "unsubscribed", "status": 400}),
    ]
    text_in(client, world, world.client_phone, "hello")
    session.expire_all()
    failed = (
        session.execute(select(OutboundMessage).where(OutboundMessage.status == "failed"))
        .scalars()
        .all()
    )
    assert [m.error_code for m in failed] == ["21610"]
    assert the_contact(session).level == 2
    assert len(twilio.to(world.backup_cm.phone)) == 1


def test_client_stop_is_honoured_and_on_the_timeline(client, app, world, session, twilio, clock):
    text_in(client, world, world.client_phone, "hello")
    text_in(client, world, world.client_phone, "STOP")
    contact = the_contact(session)
    kinds = [
        e.kind
        for e in session.execute(
            select(ContactEvent).where(ContactEvent.contact_id == contact.id)
        ).scalars()
    ]
    assert "opt_out" in kinds
    sent_to_client = len(twilio.to(world.client_phone))
    text_in(client, world, world.case_manager.phone, "Are you safe?")
    assert len(twilio.to(world.client_phone)) == sent_to_client  # never messaged
    assert "cannot be texted" in twilio.to(world.case_manager.phone)[-1].body
    text_in(client, world, world.client_phone, "START")
    text_in(client, world, world.case_manager.phone, "Are you safe?")
    assert twilio.to(world.client_phone)[-1].body == "Are you safe?"


def test_stop_stop_only_as_single_word(client, world, session, twilio):
    text_in(client, world, world.client_phone, "please don't stop talking to me")
    from app.messaging.outbox import is_opted_out

    assert not is_opted_out(session=session, team_id=world.team.id, number=world.client_phone)


def test_staff_stop_alerts_supervisors_and_removes_them_from_sms_plans_without_a_call_rule(
    client, world, session, twilio
):
    # Texts were their only way to be woken (app.escalation.notify_rules).
    world.oncall.notify_rules = [{"channel": "sms", "after_seconds": 0}]
    session.add(world.oncall)
    session.commit()
    text_in(client, world, world.oncall.phone, "STOP")
    assert any("STOP" in m.body for m in twilio.to(world.supervisor.phone))
    text_in(client, world, "+12015550162", "help me")
    assert twilio.to(world.oncall.phone) == []
    contact = the_contact(session)
    assert all(world.oncall.id not in lv["staff_ids"] for lv in contact.plan)


def test_fallback_url_answers_without_a_database():
    dead = Database(make_engine("postgresql://nobody@127.0.0.1:1/none"))
    app = create_app(make_settings(), db=dead, run_worker=False, configure_logs=False)
    with TestClient(app, base_url=PUBLIC_BASE_URL) as c:
        voice = post_signed(
            c, "/twilio/fallback", {"CallSid": "CA1", "From": "+12015550150", "To": "+19735550100"}
        )
        assert voice.status_code == 200 and "<Dial>988</Dial>" in voice.text
        sms = post_signed(
            c,
            "/twilio/fallback",
            {"MessageSid": "SM1", "From": "+12015550150", "To": "+19735550100"},
        )
        assert sms.status_code == 200 and "<Message>" in sms.text and "988" in sms.text
        assert c.post("/twilio/fallback", data={"CallSid": "CA1"}).status_code == 403
        # The main webhook answers 503 fast, so Twilio moves to the fallback URL.
        r = post_signed(
            c,
            "/twilio/sms",
            {"MessageSid": "SM2", "From": "+12015550150", "To": "+19735550100", "Body": "x"},
        )
        assert r.status_code == 503


def test_fallback_url_uses_the_teams_own_number(client, world):
    client.app.state.runtime.refresh_fallback_numbers()
    r = post_signed(
        client, "/twilio/fallback", {"CallSid": "CA2", "To": world.team.crisis_line_number}
    )
    assert f"<Dial>{world.team.fallback_number}</Dial>" in r.text
