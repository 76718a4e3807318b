"""A team may page an on-call person who speaks the contact's language first
(`page_speakers_first`, PATCH /v1/teams/{id}): end to end, a Spanish text
reaches the Spanish-speaking on-call person before the primary on-call, and
never before the client's own case managers. Signed webhooks in, Twilio's
REST API (respx) out, the injected clock."""

from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import Contact
from app.oncall.models import Rota
from tests.conftest import TWILIO_SID, auth
from tests.factories import make_staff
from tests.inbound.voice_calls import call_in, path_of, twiml
from tests.twilio_signing import post_signed
from tests.world import text_in, tick

UNKNOWN = "+12015550170"
SPANISH = "necesito ayuda, no puedo más"


def pages(twilio, phone: str) -> list[str]:
    """A person's level notifications (the client's words may follow them as relays)."""
    return [m.body for m in twilio.to(phone) if m.body.startswith(("CRISIS", "URGENT"))]


def the_contact(session) -> Contact:
    session.expire_all()
    return session.execute(select(Contact).order_by(Contact.id.desc())).scalars().first()


def on_a_rota(session, world, person, priority: int) -> None:
    session.add(
        Rota(
            team_id=world.team.id,
            name=f"Rota {priority}",
            priority=priority,
            timezone="America/New_York",
            layers=[
                {
                    "name": "weekly",
                    "turn": {"unit": "weeks", "length": 1},
                    "start": "2026-01-05T09:00",
                    "participants": [person.id],
                    "restrictions": [],
                }
            ],
        )
    )


def with_a_spanish_speaker_on_backup(
    client, world, session, *, speakers_first: bool, priority: int = 2
):
    """Rosa, who speaks Spanish, is on a later rota (the backup, priority 2);
    Owen (English only) on the primary; the team offers Spanish and sets the
    option through the API."""
    rosa = make_staff(
        session, world.team, name="Rosa Ruiz", phone="+12015550184", languages_spoken=["en", "es"]
    )
    world.oncall.languages_spoken = ["en"]
    session.add(world.oncall)
    on_a_rota(session, world, rosa, priority)
    session.commit()
    answer = client.patch(
        f"/v1/teams/{world.team.id}",
        json={"languages": ["en", "es"], "page_speakers_first": speakers_first},
        headers=auth(world.supervisor_key),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["page_speakers_first"] is speakers_first
    return rosa


def plan_of(contact: Contact) -> list[tuple[str, list[int]]]:
    return [(level["kind"], level["staff_ids"]) for level in contact.plan]


def test_a_spanish_text_pages_the_spanish_speaker_first_after_the_case_managers(
    client, app, world, session, twilio, clock
):
    rosa = with_a_spanish_speaker_on_backup(client, world, session, speakers_first=True)
    text_in(client, world, world.client_phone, SPANISH)
    contact = the_contact(session)
    assert contact.language == "es"
    assert plan_of(contact)[:4] == [
        ("assigned", [world.case_manager.id]),  # the client's own case manager first
        ("backup", [world.backup_cm.id]),
        ("rota", [rosa.id]),  # the Spanish speaker before the primary on-call
        ("rota", [world.oncall.id]),
    ]
    assert len(pages(twilio, world.case_manager.phone)) == 1
    # Nobody acknowledges: each level in turn, on its clock.
    for told in (world.backup_cm, rosa, world.oncall):
        clock.advance(seconds=301)
        tick(app)
        assert len(pages(twilio, told.phone)) == 1, told.name
    assert " ES " in twilio.to(rosa.phone)[0].body


def test_an_unknown_number_writing_spanish_reaches_the_speaker_first(
    client, app, world, session, twilio, clock
):
    rosa = with_a_spanish_speaker_on_backup(client, world, session, speakers_first=True)
    text_in(client, world, UNKNOWN, SPANISH)
    assert plan_of(the_contact(session))[:2] == [("rota", [rosa.id]), ("rota", [world.oncall.id])]
    assert len(pages(twilio, rosa.phone)) == 1 and twilio.to(world.oncall.phone) == []


def test_english_contacts_and_teams_without_the_option_keep_the_rota_order(
    client, app, world, session, twilio, clock
):
    rosa = with_a_spanish_speaker_on_backup(client, world, session, speakers_first=True)
    text_in(client, world, UNKNOWN, "please I need help right now")
    english = the_contact(session)
    assert english.language == "en"
    assert plan_of(english)[:2] == [("rota", [world.oncall.id]), ("rota", [rosa.id])]

    english.status = "resolved"
    session.commit()
    client.patch(
        f"/v1/teams/{world.team.id}",
        json={"page_speakers_first": False},
        headers=auth(world.supervisor_key),
    )
    text_in(client, world, "+12015550171", SPANISH)
    spanish = the_contact(session)
    assert spanish.language == "es"
    assert plan_of(spanish)[:2] == [("rota", [world.oncall.id]), ("rota", [rosa.id])]


def test_an_unknown_caller_who_presses_2_is_dialled_to_the_speaker_first(
    client, app, world, session, twilio, clock
):
    rosa = with_a_spanish_speaker_on_backup(client, world, session, speakers_first=True)
    menu = twiml(call_in(client, world, UNKNOWN, "CAspeaker1"))
    [gather] = menu.findall("Gather")
    params = {
        "CallSid": "CAspeaker1",
        "AccountSid": TWILIO_SID,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "Digits": "2",
    }
    root = twiml(post_signed(client, path_of(gather.get("action")), params))
    [dial] = root.findall("Dial")
    assert [number.text for number in dial.iter("Number")] == [rosa.phone]
    contact = the_contact(session)
    assert contact.language == "es"
    assert plan_of(contact)[:2] == [("rota", [rosa.id]), ("rota", [world.oncall.id])]


def test_a_number_that_turns_out_to_write_spanish_reaches_the_speaker_next(
    client, app, world, session, twilio, clock
):
    # Owen (primary), Olga (backup) and Rosa (third) on call; only Rosa speaks Spanish.
    rosa = with_a_spanish_speaker_on_backup(client, world, session, speakers_first=True, priority=3)
    olga = make_staff(session, world.team, name="Olga Oak", phone="+12015550185")
    on_a_rota(session, world, olga, 2)
    session.commit()
    text_in(client, world, UNKNOWN, "hola")  # too short to tell: the team's default, English
    contact = the_contact(session)
    assert contact.language == "en"
    assert plan_of(contact)[:3] == [
        ("rota", [world.oncall.id]),
        ("rota", [olga.id]),
        ("rota", [rosa.id]),
    ]
    assert len(pages(twilio, world.oncall.phone)) == 1
    text_in(client, world, UNKNOWN, SPANISH)
    contact = the_contact(session)
    assert contact.language == "es"
    # Owen was told already and keeps level 1; Rosa comes before Olga.
    assert plan_of(contact)[:3] == [
        ("rota", [world.oncall.id]),
        ("rota", [rosa.id]),
        ("rota", [olga.id]),
    ]
    clock.advance(seconds=301)
    tick(app)
    assert len(pages(twilio, rosa.phone)) == 1 and twilio.to(olga.phone) == []


def test_without_the_option_a_later_spanish_text_changes_no_plan(
    client, app, world, session, twilio, clock
):
    rosa = with_a_spanish_speaker_on_backup(
        client, world, session, speakers_first=False, priority=3
    )
    olga = make_staff(session, world.team, name="Olga Oak", phone="+12015550185")
    on_a_rota(session, world, olga, 2)
    session.commit()
    text_in(client, world, UNKNOWN, "hola")
    text_in(client, world, UNKNOWN, SPANISH)
    contact = the_contact(session)
    assert contact.language == "es"
    assert plan_of(contact)[1:3] == [("rota", [olga.id]), ("rota", [rosa.id])]
