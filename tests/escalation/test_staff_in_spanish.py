"""A Spanish-speaking member of staff (`language="es"`) reads every text the
service sends them in Spanish: the handover notice with its reason, the
supervisors' skipped-level alert with the level's label, and WHO's account
of who was paged and what came of it. Signed webhooks in, Twilio's REST API
(respx) out, the injected clock."""

from __future__ import annotations

from xml.etree import ElementTree

from sqlalchemy import select

from app.contacts.models import Contact
from tests.escalation.page_calls import pick_up, press
from tests.world import only_texts_and_opted_out, text_in, tick


def the_contact(session) -> Contact:
    session.expire_all()
    return session.execute(select(Contact).order_by(Contact.id.desc())).scalars().first()


def speaks_spanish(session, *people) -> None:
    for person in people:
        person.language = "es"
        session.add(person)
    session.commit()


def who_after_pressing_1(client, app, world, session, twilio, clock) -> tuple[Contact, str]:
    """The case manager, called about a new contact, presses 1 and then texts
    WHO: the contact and the answer."""
    text_in(client, world, world.client_phone, "please call me")
    contact = the_contact(session)
    clock.advance(seconds=60)
    tick(app)
    [call] = twilio.calls
    pick_up(client, call)
    press(client, call, "1")
    text_in(client, world, world.case_manager.phone, "WHO")
    return contact, twilio.to(world.case_manager.phone)[-1].body


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
    only_texts_and_opted_out(session, world.backup_cm)
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
    contact, answer = who_after_pressing_1(client, app, world, session, twilio, clock)
    assert answer.startswith("De guardia: Primary: Owen Call")
    assert f"#{contact.id} Casey: SMS en cola, llamada oprimió 1" in answer


def test_who_in_english_keeps_its_words(client, app, world, session, twilio, clock):
    contact, answer = who_after_pressing_1(client, app, world, session, twilio, clock)
    assert f"#{contact.id} Casey: sms queued, call pressed 1" in answer


# ---------------------------------------------------------------- the page call


def says(twiml: str) -> list[tuple[str | None, str | None, str]]:
    """(language, voice, words) of every <Say>, wherever it is."""
    root = ElementTree.fromstring(twiml)
    return [(s.get("language"), s.get("voice"), s.text or "") for s in root.iter("Say")]


def paged_by_call(client, app, world, session, clock):
    """The case manager's call rule fires a minute after the client's text."""
    text_in(client, world, world.client_phone, "please call me")
    clock.advance(seconds=60)
    tick(app)


def test_a_spanish_speakers_page_call_is_spoken_in_spanish(
    client, app, world, session, twilio, clock
):
    speaks_spanish(session, world.case_manager)
    paged_by_call(client, app, world, session, clock)
    [call] = twilio.calls
    asked = pick_up(client, call)
    assert asked.status_code == 200
    assert says(asked.text) == [
        (
            "es-US",
            "Polly.Lupe",
            "Mensaje de crisis para North ICM, de Sam. "
            "Oprima 1 para atenderlo. Oprima 2 para pasarlo.",
        )
    ]
    taken = press(client, call, "1")
    assert says(taken.text) == [
        ("es-US", "Polly.Lupe", "Es suyo. La conversación está en sus mensajes de texto.")
    ]
    contact = the_contact(session)
    assert contact.acknowledged_by == world.case_manager.id
    yours = twilio.to(world.case_manager.phone)[-1].body
    assert yours.startswith(f"#{contact.id} es suyo (oprimió 1).")


def test_a_spanish_speaker_pressing_2_hears_it_passed_in_spanish(
    client, app, world, session, twilio, clock
):
    speaks_spanish(session, world.case_manager)
    paged_by_call(client, app, world, session, clock)
    [call] = twilio.calls
    pick_up(client, call)
    passed = press(client, call, "2")
    assert says(passed.text) == [
        ("es-US", "Polly.Lupe", "Pasado. Ahora estamos llamando a las siguientes personas.")
    ]
    assert the_contact(session).level == 2
    nothing = press(client, twilio.calls[0], "")
    assert says(nothing.text)[0][0] == "es-US"


def test_an_english_speakers_page_call_is_unchanged(client, app, world, session, twilio, clock):
    paged_by_call(client, app, world, session, clock)
    [call] = twilio.calls
    asked = pick_up(client, call)
    root = ElementTree.fromstring(asked.text)
    [gather] = root.iter("Gather")
    assert (gather.get("numDigits"), gather.get("timeout")) == ("1", "8")
    assert says(asked.text) == [
        (
            "en-US",
            "Polly.Joanna",
            "Crisis text for North ICM, from Sam. Press 1 to take it. Press 2 to pass.",
        )
    ]
    assert [s.get("loop") for s in root.iter("Say")] == ["2"]
    taken = press(client, call, "1")
    assert says(taken.text) == [
        ("en-US", "Polly.Joanna", "It is yours. The conversation is in your texts.")
    ]
