"""Regression tests for what the conversation model (test_conversation_model.py)
found, each as the shortest story that shows it."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.contacts.models import Contact, ContactEvent
from app.messaging.models import OutboundMessage
from tests.world import route_inbox, text_in, tick

OUTAGE = [httpx.Response(503, json={"code": 20500})] * 1000


def rows(session, **where) -> list[OutboundMessage]:
    session.expire_all()
    query = select(OutboundMessage).order_by(OutboundMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboundMessage, name) == value)
    return list(session.execute(query).scalars())


def test_an_auto_reply_retried_after_the_client_texted_stop_is_not_sent(
    client, app, world, session, twilio, clock
):
    """Twilio is down when the client first texts; the auto-reply waits for a
    retry; the client texts STOP; Twilio recovers: the auto-reply must not go
    (the carrier would refuse it with 21610 and may flag the line)."""
    twilio.fail_next[:] = OUTAGE
    sam = world.client_phone
    text_in(client, world, sam, "hello")
    clock.advance(seconds=20)
    twilio.carrier_blocked.add(sam)
    text_in(client, world, sam, "STOP")
    twilio.fail_next.clear()
    clock.advance(seconds=75)
    tick(app)
    assert twilio.refused == []
    [reply] = rows(session, purpose="auto_reply")
    assert (reply.status, reply.error_code) == ("failed", "opted_out")
    # The words still reached the case manager, with the word that blocked texts.
    bodies = [m.body for m in twilio.to(world.case_manager.phone)]
    assert any('Said: "hello"' in b for b in bodies)
    assert any('texted "STOP"' in b for b in bodies)


def test_a_staff_reply_retried_after_the_client_texted_stop_is_not_sent_and_they_are_told(
    client, app, world, session, twilio, clock
):
    sam, cm = world.client_phone, world.case_manager.phone
    text_in(client, world, sam, "hello")
    text_in(client, world, cm, "ACK")
    twilio.fail_next[:] = OUTAGE
    text_in(client, world, cm, "I am on my way")
    twilio.carrier_blocked.add(sam)
    text_in(client, world, sam, "stop")
    twilio.fail_next.clear()
    clock.advance(seconds=75)
    tick(app)
    assert twilio.refused == []
    assert twilio.to(sam)[-1].body != "I am on my way"
    contact = session.execute(select(Contact)).scalar_one()
    assert twilio.to(cm)[-1].body == f"Not delivered to #{contact.id}: call them {sam}"


def test_whoever_takes_a_contact_they_were_not_texted_about_is_sent_the_words(
    client, app, world, session, twilio, clock
):
    """The case manager texted STOP, so their client's words went to nobody
    by text (they are called); the on-call person takes the contact by its
    #id from the board: they are sent every word so far, in order."""
    sam, owen = world.client_phone, world.oncall.phone
    text_in(client, world, world.case_manager.phone, "STOP")
    text_in(client, world, sam, "I need help")
    text_in(client, world, sam, "please")
    contact = session.execute(select(Contact)).scalar_one()
    assert twilio.to(owen) == []
    text_in(client, world, owen, f"#{contact.id} I am here, what is happening?")
    assert [m.body for m in twilio.to(owen)] == [
        f"#{contact.id}: I need help",
        f"#{contact.id}: please",
    ]
    assert twilio.to(sam)[-1].body == "I am here, what is happening?"
    # A person who was texted about it is not sent the words twice.
    text_in(client, world, sam, "hello")
    assert twilio.to(owen)[-1].body == f"#{contact.id}: hello"
    before = len(twilio.to(world.backup_cm.phone))
    clock.advance(seconds=400)
    tick(app)
    assert len(twilio.to(world.backup_cm.phone)) == before


def test_an_ack_from_someone_not_texted_about_the_contact_sends_them_the_words(
    client, app, world, session, twilio, clock
):
    sam, owen, cm = world.client_phone, world.oncall.phone, world.case_manager.phone
    text_in(client, world, sam, "I need help")
    contact = session.execute(select(Contact)).scalar_one()
    text_in(client, world, owen, f"#{contact.id} ACK")
    bodies = [m.body for m in twilio.to(owen)]
    assert bodies[0] == f"#{contact.id}: I need help"
    assert bodies[-1].startswith(f"#{contact.id} is yours")
    # The case manager was texted about it: an ACK of theirs sends nothing again.
    session.expire_all()
    assert len(twilio.to(cm)) == 1


def test_a_relay_routed_beside_the_clients_stop_is_not_sent_and_the_holder_is_told(
    client, app, world, session, twilio, clock
):
    """The holder's reply and the client's STOP arrive together and are
    routed in one batch: the relay is queued before the STOP is read. Its
    first attempt must not go (not only a retry): the carrier would refuse
    it with 21610."""
    sam, cm = world.client_phone, world.case_manager.phone
    text_in(client, world, sam, "hello")
    text_in(client, world, cm, "ACK")
    text_in(client, world, cm, "I am on my way", route=False)
    twilio.carrier_blocked.add(sam)
    text_in(client, world, sam, "STOP", route=False)
    route_inbox(app)
    tick(app)
    assert twilio.refused == []
    [relay] = rows(session, purpose="relay", to_number=sam)
    assert (relay.status, relay.error_code, relay.attempts) == ("failed", "opted_out", 1)
    contact = session.execute(select(Contact)).scalar_one()
    assert twilio.to(cm)[-1].body == f"Not delivered to #{contact.id}: call them {sam}"


def test_the_words_reach_whoever_closed_the_contact_during_an_outage(
    client, app, world, session, twilio, clock
):
    """Twilio is down when the client texts; the case manager (who knows of
    the crisis another way) texts DONE before any notification left. The
    notification carrying the client's words is not given up when the
    contact closes: once Twilio recovers, the person who closed it reads
    them."""
    twilio.fail_next[:] = OUTAGE
    sam, cm = world.client_phone, world.case_manager.phone
    text_in(client, world, sam, "the pills are here")
    text_in(client, world, cm, "DONE")
    contact = session.execute(select(Contact)).scalar_one()
    assert contact.status == "resolved"
    for _ in range(12):  # past the sender's MAX_ATTEMPTS, a minute apart
        clock.advance(seconds=75)
        tick(app)
    [notify] = rows(session, purpose="notify", to_number=cm)
    assert notify.status == "pending" and notify.attempts > 8
    twilio.fail_next.clear()
    clock.advance(seconds=75)
    tick(app)
    assert any('Said: "the pills are here"' in m.body for m in twilio.to(cm))


def test_a_holder_passing_a_contact_past_its_last_level_keeps_it(
    client, app, world, session, twilio, clock
):
    """The plan ran out (unanswered); the backup case manager then answers
    and holds the contact; their PASS finds nobody left to take it. It stays
    with them: it must not go open with no holder and no deadline."""
    sam, backup = world.client_phone, world.backup_cm.phone
    text_in(client, world, sam, "the pills are here")
    contact = session.execute(select(Contact)).scalar_one()
    for _ in range(10):
        clock.advance(seconds=75)
        tick(app)
    session.refresh(contact)
    assert contact.status == "unanswered"
    text_in(client, world, backup, f"#{contact.id} I am here")
    session.refresh(contact)
    assert (contact.status, contact.acknowledged_by) == ("acknowledged", world.backup_cm.id)
    text_in(client, world, backup, f"#{contact.id} PASS")
    session.refresh(contact)
    assert (contact.status, contact.acknowledged_by) == ("acknowledged", world.backup_cm.id)
    assert twilio.to(backup)[-1].body.startswith(f"#{contact.id} stays with you")


def test_a_staff_member_who_texted_stop_does_not_take_a_contact_by_text(
    client, app, world, session, twilio, clock
):
    """The case manager texted STOP (the carrier blocks texts to them) and
    then ACK: holding the contact, they could not read the client's next
    words. The contact stays with the people paged, who read them."""
    sam, cm, owen = world.client_phone, world.case_manager.phone, world.oncall.phone
    text_in(client, world, sam, "I need help")
    contact = session.execute(select(Contact)).scalar_one()
    text_in(client, world, cm, "STOP")
    twilio.carrier_blocked.add(cm)
    text_in(client, world, cm, f"#{contact.id} ACK")
    text_in(client, world, cm, f"#{contact.id} I am here")
    session.refresh(contact)
    assert contact.acknowledged_by != world.case_manager.id
    assert twilio.to(sam)[-1].body == "I am here"
    # Nor do they close it by text: DONE changes nothing, on the record.
    text_in(client, world, cm, f"#{contact.id} DONE")
    session.refresh(contact)
    assert contact.status == "open"
    refused = session.execute(
        select(ContactEvent.data).where(ContactEvent.kind == "staff_reply")
    ).scalars()
    assert [d for d in refused if d.get("refused")] == [
        {"command": "ACK", "refused": "sms_opted_out"},
        {"command": "DONE", "refused": "sms_opted_out"},
    ]
    text_in(client, world, sam, "the pills are here")
    # Level 1 was the case manager alone: the next level reads every word
    # once its turn comes (within the level's timeout).
    clock.advance(seconds=301)
    tick(app)
    assert twilio.refused == []
    backup = [m.body for m in twilio.to(world.backup_cm.phone) + twilio.to(owen)]
    assert any("the pills are here" in body for body in backup), backup


def test_the_next_level_reads_every_word_its_notification_could_not_carry(
    client, app, world, session, twilio, clock
):
    """The client's first text fills the notification; the case manager
    (level 1) then texts STOP, so the client's next words reach nobody at
    level 1. When level 2's turn comes, its notification carries what fits
    and every text it could not carry whole follows it, in full."""
    sam, cm, backup = world.client_phone, world.case_manager.phone, world.backup_cm.phone
    story = " ".join(f"word{i:04d}" for i in range(200))
    text_in(client, world, sam, story)
    text_in(client, world, cm, "STOP")
    twilio.carrier_blocked.add(cm)
    text_in(client, world, sam, "please call me")
    contact = session.execute(select(Contact)).scalar_one()
    clock.advance(seconds=301)
    tick(app)
    [page, *words] = [m.body for m in twilio.to(backup)]
    assert page.startswith(f"CRISIS #{contact.id} L2") and page.endswith('..."')
    assert words[-1] == f"#{contact.id}: please call me"
    assert " ".join(w.split(": ", 1)[1] for w in words[:-1]) == story
    assert twilio.refused == []


def test_a_level_that_can_only_be_called_does_not_hold_the_words_for_its_whole_timeout(
    client, app, world, session, twilio, clock
):
    """The case manager texted STOP: their rules still call them (texts are
    blocked), but nobody at level 1 can read the client's next words. Level 1
    ends once its call has had time to be answered, and level 2 reads every
    word, well before the level's 300 s timeout."""
    sam, cm, backup = world.client_phone, world.case_manager.phone, world.backup_cm.phone
    text_in(client, world, cm, "STOP")
    twilio.carrier_blocked.add(cm)
    text_in(client, world, sam, "I need help")
    text_in(client, world, sam, "please")
    clock.advance(seconds=60)
    tick(app)
    assert [c.to for c in twilio.calls] == [cm]  # the call rule still works
    assert twilio.to(backup) == []
    clock.advance(seconds=60)
    tick(app)
    [page] = [m.body for m in twilio.to(backup)]
    assert page.startswith("CRISIS #") and page.endswith('Said: "I need help / please"')
    assert twilio.refused == []


def test_a_paged_person_who_texts_stop_mid_level_does_not_hold_the_words_for_its_timeout(
    client, app, world, session, twilio, clock
):
    """As above, but the case manager texts STOP after level 1's text
    reached them: from then nobody at level 1 can read the client's words,
    so the level ends once its pending call has had time to be answered."""
    sam, cm, backup = world.client_phone, world.case_manager.phone, world.backup_cm.phone
    text_in(client, world, sam, "I need help")
    assert len(twilio.to(cm)) == 1
    text_in(client, world, cm, "STOP")
    twilio.carrier_blocked.add(cm)
    text_in(client, world, sam, "please")
    clock.advance(seconds=60)
    tick(app)
    assert [c.to for c in twilio.calls] == [cm]
    clock.advance(seconds=60)
    tick(app)
    [page] = [m.body for m in twilio.to(backup)]
    assert page.endswith('Said: "I need help / please"')
    assert twilio.refused == []
