"""A Spanish-speaking member of staff (`language="es"`) reads every text the
service sends them in Spanish: the handover notice with its reason, the
supervisors' skipped-level alert with the level's label, and WHO's account
of who was paged and what came of it. Signed webhooks in, Twilio's REST API
(respx) out, the injected clock."""

from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import Contact
from tests.escalation.page_calls import pick_up, press
from tests.world import text_in, tick


def the_contact(session) -> Contact:
    session.expire_all()
    return session.execute(select(Contact).order_by(Contact.id.desc())).scalars().first()


def speaks_spanish(session, *people) -> None:
    for person in people:
        person.language = "es"
        session.add(person)
    session.commit()


def held_then_silent(client, app, world, session, twilio, clock) -> str:
    """The case manager takes the contact and never answers the client again:
    the reminder, then the handover. What they are told last."""
    text_in(client, world, world.client_phone, "please help")
    text_in(client, world, world.case_manager.phone, "Hi Sam, I am here")
    clock.advance(seconds=30)
    text_in(client, world, world.client_phone, "are you still there?")
    for _ in range(2):
        clock.advance(seconds=601)
        tick(app)
    return twilio.to(world.case_manager.phone)[-1].body


def test_a_silent_holder_is_told_in_spanish_why_the_contact_moved(
    client, app, world, session, twilio, clock
):
    speaks_spanish(session, world.case_manager)
    moved = held_then_silent(client, app, world, session, twilio, clock)
    contact = the_contact(session)
    assert moved == (
        f"#{contact.id} pasó a un colega (no le respondió a la persona). Ya no está a su cargo."
    )


def test_the_english_handover_notice_is_unchanged(client, app, world, session, twilio, clock):
    moved = held_then_silent(client, app, world, session, twilio, clock)
    contact = the_contact(session)
    assert moved == (
        f"#{contact.id} has moved to a colleague (no reply to the client). You no longer hold it."
    )


def test_a_spanish_supervisor_reads_the_skipped_level_in_spanish(
    client, app, world, session, twilio, clock
):
    speaks_spanish(session, world.supervisor)
    text_in(client, world, world.client_phone, "please help")
    world.backup_cm.sms_opted_out = True
    world.backup_cm.notify_rules = [{"channel": "sms", "after_seconds": 0}]
    session.add(world.backup_cm)
    session.commit()
    clock.advance(seconds=301)
    tick(app)
    contact = the_contact(session)
    alert = twilio.to(world.supervisor.phone)[-1].body
    assert alert == (
        f"#{contact.id}: nadie localizable en administrador de casos suplente "
        "(Bea Backup pidió no recibir SMS); pasó al siguiente nivel."
    )


def test_who_tells_a_spanish_speaker_what_came_of_each_page_in_spanish(
    client, app, world, session, twilio, clock
):
    speaks_spanish(session, world.case_manager)
    text_in(client, world, world.client_phone, "please call me")
    contact = the_contact(session)
    clock.advance(seconds=60)
    tick(app)
    [call] = twilio.calls
    pick_up(client, call)
    press(client, call, "1")
    text_in(client, world, world.case_manager.phone, "WHO")
    answer = twilio.to(world.case_manager.phone)[-1].body
    assert answer.startswith("De guardia: Primary: Owen Call")
    assert f"#{contact.id} Casey: SMS en cola, llamada oprimió 1" in answer


def test_who_in_english_keeps_its_words(client, app, world, session, twilio, clock):
    text_in(client, world, world.client_phone, "please call me")
    contact = the_contact(session)
    clock.advance(seconds=60)
    tick(app)
    [call] = twilio.calls
    pick_up(client, call)
    press(client, call, "1")
    text_in(client, world, world.case_manager.phone, "WHO")
    answer = twilio.to(world.case_manager.phone)[-1].body
    assert f"#{contact.id} Casey: sms queued, call pressed 1" in answer
