"""A client who writes in Spanish is answered in Spanish, their language is
remembered, staff see it, and a Spanish priority word counts like an
English one. End to end: signed webhook in, Twilio's REST API (respx) out."""

from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import ContactEvent, NumberLanguage
from app.inbound import language
from tests.world import kinds, text_in, the_contact

UNKNOWN = "+12015550170"


def test_a_spanish_speaking_client_gets_the_spanish_auto_reply(client, world, session, twilio):
    world.client_row.language = "es"
    session.commit()
    text_in(client, world, world.client_phone, "hola")
    [reply] = twilio.to(world.client_phone)
    assert reply.body.startswith("Recibimos su mensaje.")
    assert "911" in reply.body and "988" in reply.body
    assert the_contact(session).language == "es"
    # The on-call worker knows before answering: ES in the notification.
    [note] = twilio.to(world.case_manager.phone)
    assert " ES " in note.body and "Sam" in note.body


def test_a_family_phone_may_speak_another_language_than_the_client(client, world, session, twilio):
    from app.clients.models import ClientPhone

    phone = session.execute(
        select(ClientPhone).where(ClientPhone.number == world.family_phone)
    ).scalar_one()
    phone.language = "es"
    session.commit()
    text_in(client, world, world.family_phone, "hola")
    text_in(client, world, world.client_phone, "hi")
    assert twilio.to(world.family_phone)[0].body.startswith("Recibimos su mensaje.")
    assert twilio.to(world.client_phone)[0].body.startswith("We got your message.")


def test_an_unknown_number_writing_spanish_is_answered_in_spanish_and_remembered(
    client, world, session, twilio
):
    text_in(client, world, UNKNOWN, "necesito ayuda, no puedo más")
    [reply] = twilio.to(UNKNOWN)
    assert reply.body.startswith("Recibimos su mensaje.")
    assert "911" in reply.body and "988" in reply.body
    contact = the_contact(session)
    assert contact.language == "es"
    assert "language_changed" in kinds(session, contact.id)
    remembered = session.execute(
        select(NumberLanguage.language).where(NumberLanguage.number == UNKNOWN)
    ).scalar_one()
    assert remembered == "es"

    # The next contact from that number, a word too short to tell: still Spanish.
    contact.status = "resolved"
    session.commit()
    twilio.sent.clear()
    text_in(client, world, UNKNOWN, "ok")
    [reply] = twilio.to(UNKNOWN)
    assert reply.body.startswith("Recibimos su mensaje.")
    assert the_contact(session).language == "es"


def test_an_unknown_number_writing_english_gets_the_team_default(client, world, session, twilio):
    text_in(client, world, UNKNOWN, "I need someone to talk to")
    [reply] = twilio.to(UNKNOWN)
    assert reply.body.startswith("We got your message.")
    assert the_contact(session).language == "en"


def test_espanol_switches_the_conversation_and_is_still_seen_by_a_human(
    client, world, session, twilio
):
    text_in(client, world, world.client_phone, "hi")
    twilio.sent.clear()
    text_in(client, world, world.client_phone, "ESPAÑOL")
    contact = the_contact(session)
    assert contact.language == "es"
    [confirmation] = twilio.to(world.client_phone)
    assert confirmation.body.startswith("Le escribiremos en español.")
    assert "911" in confirmation.body and "988" in confirmation.body
    # The word is a message too: on the timeline like any other.
    bodies = [
        e.data.get("body")
        for e in session.execute(
            select(ContactEvent).where(
                ContactEvent.contact_id == contact.id, ContactEvent.kind == "received"
            )
        ).scalars()
    ]
    assert "ESPAÑOL" in bodies


def test_a_short_or_unsure_text_never_switches():
    assert language.language_of_text("si") is None
    assert language.language_of_text("ok gracias") is None
    assert language.language_of_text("Espanol") == ("es", "requested")
    assert language.language_of_text("spanish!") == ("es", "requested")
    assert language.language_of_text("necesito ayuda, no puedo más") == ("es", "detected")
    assert language.language_of_text("please call me back when you can") == ("en", "detected")


def test_me_quiero_morir_raises_priority_like_an_english_word(client, world, session, twilio):
    text_in(client, world, UNKNOWN, "me quiero morir")
    contact = the_contact(session)
    assert contact.priority == "high"
    assert "priority_raised" in kinds(session, contact.id)
    # The priority clock: the team's 60 s instead of its 300 s.
    assert (contact.next_escalation_at - contact.created_at).total_seconds() == 60


def test_a_spanish_priority_word_later_in_the_conversation_raises_priority(
    client, world, session, twilio
):
    text_in(client, world, world.client_phone, "hola")
    assert the_contact(session).priority == "normal"
    text_in(client, world, world.client_phone, "ya no quiero vivir")
    assert the_contact(session).priority == "high"


def test_unaccented_spanish_priority_words_count(client, world, session, twilio):
    text_in(client, world, UNKNOWN, "ya no aguanto mas, voy a suicidarme")
    assert the_contact(session).priority == "high"


def test_a_team_edits_its_spanish_priority_words(client, world, session, twilio):
    world.team.priority_words_by_language = {"es": ["palabra clave"]}
    session.commit()
    text_in(client, world, UNKNOWN, "me quiero morir")
    assert the_contact(session).priority == "normal"


def test_staff_receive_their_notifications_in_their_own_language(client, world, session, twilio):
    world.case_manager.language = "es"
    session.commit()
    text_in(client, world, world.client_phone, "I am not doing well")
    [note] = twilio.to(world.case_manager.phone)
    assert "Responda para contestar" in note.body and note.body.startswith("CRISIS #")
    # The client still reads English.
    assert twilio.to(world.client_phone)[0].body.startswith("We got your message.")


def test_a_spanish_custom_auto_reply_is_sent_to_spanish_speakers(client, world, session, twilio):
    world.team.custom_texts = {"es": {"auto_reply_text": "Hola. 911 o 988, siempre."}}
    world.client_row.language = "es"
    session.commit()
    text_in(client, world, world.client_phone, "hola")
    assert twilio.to(world.client_phone)[0].body == "Hola. 911 o 988, siempre."


def test_the_api_shows_the_contacts_language_and_the_on_call_staffs(client, world, session, twilio):
    from tests.conftest import auth

    text_in(client, world, UNKNOWN, "necesito ayuda, no puedo más")
    contact = the_contact(session)
    body = client.get(f"/v1/contacts/{contact.id}", headers=auth(world.supervisor_key)).json()
    assert body["language"] == "es"
    world.oncall.languages_spoken = ["en", "es"]
    session.commit()
    [rota] = client.get(
        f"/v1/teams/{world.team.id}/oncall", headers=auth(world.supervisor_key)
    ).json()
    assert rota["staff"]["languages_spoken"] == ["en", "es"]


def test_who_lists_the_languages_on_call_staff_speak(client, world, session, twilio):
    world.team.languages = ["en", "es"]
    world.oncall.languages_spoken = ["en", "es"]
    session.commit()
    text_in(client, world, world.case_manager.phone, "WHO")
    [answer] = twilio.to(world.case_manager.phone)
    assert "Owen Call (EN/ES)" in answer.body
