"""Calls in Spanish: a known Spanish caller hears every prompt with
<Say language="es-US">, an unknown caller on a team offering Spanish gets a
one-digit menu before the dial (press 2), and a known caller is never
delayed by it. Followed through Twilio's callbacks with signed requests."""

from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import NumberLanguage
from tests.conftest import TWILIO_SID
from tests.inbound.voice_calls import answer, call_in, call_status, path_of, twiml
from tests.twilio_signing import post_signed
from tests.world import the_contact

UNKNOWN = "+12015550171"


def offer_spanish(world, session):
    world.team.languages = ["en", "es"]
    session.commit()


def menu_answer(client, root, call_sid: str, digits: str | None, call_status: str = "in-progress"):
    [gather] = root.findall("Gather")
    params = {
        "CallSid": call_sid,
        "AccountSid": TWILIO_SID,
        "CallStatus": call_status,
        "Direction": "inbound",
    }
    if digits is not None:
        params["Digits"] = digits
    return post_signed(client, path_of(gather.get("action")), params)


def test_a_spanish_speaking_client_hears_spanish_at_once(client, world, session, twilio):
    world.client_row.language = "es"
    offer_spanish(world, session)
    root = twiml(call_in(client, world, world.client_phone, "CAes1"))
    # Known: no menu, straight to the greeting and the dial.
    assert [child.tag for child in root] == ["Say", "Dial"]
    [say] = root.findall("Say")
    assert say.get("language") == "es-US" and say.get("voice") == "Polly.Lupe"
    assert say.text.startswith("Se ha comunicado con la línea de crisis.")
    assert the_contact(session).language == "es"


def test_an_english_caller_hears_en_us(client, world, session, twilio):
    root = twiml(call_in(client, world, world.client_phone, "CAen1"))
    [say] = root.findall("Say")
    assert say.get("language") == "en-US"
    assert say.text == world.team.voice_greeting


def test_unknown_caller_gets_the_press_2_menu_and_spanish_after_pressing_2(
    client, world, session, twilio
):
    offer_spanish(world, session)
    root = twiml(call_in(client, world, UNKNOWN, "CAmenu1"))
    assert [child.tag for child in root] == ["Gather", "Redirect"]
    [gather] = root.findall("Gather")
    assert gather.get("numDigits") == "1" and int(gather.get("timeout")) <= 3
    [say] = gather.findall("Say")
    assert say.get("language") == "es-US" and say.text == "Para español, oprima 2."
    contact = the_contact(session)
    assert contact.level == 0  # nobody dialled yet

    menu = root
    root = twiml(menu_answer(client, menu, "CAmenu1", "2"))
    assert [child.tag for child in root] == ["Say", "Dial"]
    [say] = root.findall("Say")
    assert say.get("language") == "es-US"
    assert say.text.startswith("Se ha comunicado con la línea de crisis.")
    contact = the_contact(session)
    assert contact.language == "es" and contact.level == 1

    # Twilio's repeats change nothing and hear the same.
    again = twiml(menu_answer(client, menu, "CAmenu1", "2"))
    assert [child.tag for child in again] == ["Say", "Dial"]
    assert again.find("Say").get("language") == "es-US"
    again = twiml(call_in(client, world, UNKNOWN, "CAmenu1"))
    assert [child.tag for child in again] == ["Say", "Dial"]
    assert the_contact(session).level == 1

    # Remembered: the next call from that number is not asked again.
    contact.status = "resolved"
    session.commit()
    root = twiml(call_in(client, world, UNKNOWN, "CAmenu2"))
    assert [child.tag for child in root] == ["Say", "Dial"]
    assert root.find("Say").get("language") == "es-US"
    assert (
        session.execute(
            select(NumberLanguage.language).where(NumberLanguage.number == UNKNOWN)
        ).scalar_one()
        == "es"
    )


def test_no_digit_falls_into_the_team_default(client, world, session, twilio):
    offer_spanish(world, session)
    root = twiml(call_in(client, world, UNKNOWN, "CAmenu3"))
    root = twiml(menu_answer(client, root, "CAmenu3", None))
    assert [child.tag for child in root] == ["Say", "Dial"]
    assert root.find("Say").get("language") == "en-US"
    assert the_contact(session).language == "en"
    assert session.execute(select(NumberLanguage)).first() is None


def test_known_callers_and_one_language_teams_are_not_delayed(client, world, session, twilio):
    offer_spanish(world, session)
    root = twiml(call_in(client, world, world.client_phone, "CAknown"))
    assert [child.tag for child in root] == ["Say", "Dial"]
    world.team.languages = ["en"]
    session.commit()
    root = twiml(call_in(client, world, UNKNOWN, "CAonelang"))
    assert [child.tag for child in root] == ["Say", "Dial"]


def test_a_caller_gone_on_the_menu_is_handed_to_level_1_by_sms(client, world, session, twilio):
    offer_spanish(world, session)
    twiml(call_in(client, world, UNKNOWN, "CAgone"))
    call_status(client, "CAgone", "completed", duration="3")
    client.app.state.runtime.dispatcher.drain()
    contact = the_contact(session)
    assert contact.needs_callback and contact.level == 1
    assert twilio.to(world.oncall.phone), "level 1 (the on-call) is told of the missed call"


def test_the_screened_staff_leg_is_in_the_staff_members_language(client, world, session, twilio):
    world.case_manager.language = "es"
    world.client_row.language = "en"
    session.commit()
    root = twiml(call_in(client, world, world.client_phone, "CAscreen"))
    _leg, screen = answer(client, root, world.case_manager.phone, "CAscreen")
    screen = twiml(screen)
    [gather] = screen.findall("Gather")
    [say] = gather.findall("Say")
    assert say.get("language") == "es-US"
    assert say.text == "Llamada de crisis de Sam. Oprima 1 para aceptar."
