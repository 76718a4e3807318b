"""Every word a client sends reaches a human; carrier keywords change consent
and swallow nothing (signed webhooks in, Twilio's REST API stand-in out)."""

from __future__ import annotations

from sqlalchemy import select

from app.contacts.models import Contact, ContactEvent
from app.messaging.outbox import is_opted_out
from tests.world import text_in, the_contact


def kinds(session, contact: Contact) -> list[str]:
    return [
        e.kind
        for e in session.execute(
            select(ContactEvent).where(ContactEvent.contact_id == contact.id)
        ).scalars()
    ]


def acknowledged_by_case_manager(client, world, session) -> Contact:
    text_in(client, world, world.client_phone, "do you have a minute")
    text_in(client, world, world.case_manager.phone, "ACK")
    contact = the_contact(session)
    assert contact.status == "acknowledged"
    return contact


def opted_out(session, world, number) -> bool:
    session.expire_all()
    return is_opted_out(session=session, team_id=world.team.id, number=number)


def test_a_clients_yes_reaches_the_holder_and_changes_no_consent(client, world, session, twilio):
    contact = acknowledged_by_case_manager(client, world, session)
    text_in(client, world, world.case_manager.phone, "Do you have the pills with you?")
    text_in(client, world, world.client_phone, "Yes")
    assert twilio.to(world.case_manager.phone)[-1].body == f"#{contact.id}: Yes"
    assert "opt_in" not in kinds(session, the_contact(session))
    assert not opted_out(session, world, world.client_phone)


def test_a_clients_stop_is_recorded_and_the_holder_is_told_to_call(client, world, session, twilio):
    contact = acknowledged_by_case_manager(client, world, session)
    text_in(client, world, world.client_phone, "Stop")
    assert opted_out(session, world, world.client_phone)
    assert "opt_out" in kinds(session, the_contact(session))
    assert twilio.to(world.case_manager.phone)[-1].body == (
        f'#{contact.id} texted "Stop": texts to them are now blocked by the carrier. '
        f"Call them: {world.client_phone}"
    )


def test_stop_alone_opens_a_contact_whose_paged_people_are_told_to_call(
    client, world, session, twilio
):
    text_in(client, world, world.client_phone, "STOP")
    contact = the_contact(session)
    assert contact is not None and contact.status == "open"
    assert opted_out(session, world, world.client_phone)
    to_cm = [m.body for m in twilio.to(world.case_manager.phone)]
    assert len(to_cm) == 2 and f"#{contact.id}" in to_cm[0]
    assert "Call them: " + world.client_phone in to_cm[1]
    assert twilio.to(world.client_phone) == []  # the auto-reply is not sent into the block


def test_an_opt_in_word_opts_in_only_a_blocked_number_and_is_relayed_either_way(
    client, world, session, twilio
):
    contact = acknowledged_by_case_manager(client, world, session)
    text_in(client, world, world.client_phone, "STOP")
    text_in(client, world, world.client_phone, "START")
    assert not opted_out(session, world, world.client_phone)
    assert twilio.to(world.case_manager.phone)[-1].body == f"#{contact.id}: START"
    assert kinds(session, the_contact(session)).count("opt_in") == 1
    text_in(client, world, world.client_phone, "START")  # not blocked: just words
    assert kinds(session, the_contact(session)).count("opt_in") == 1
    assert [m.body for m in twilio.to(world.case_manager.phone)][-2:] == [
        f"#{contact.id}: START"
    ] * 2


def test_the_lines_own_keyword_lists_come_from_the_settings(client, world, session, twilio):
    runtime = client.app.state.runtime
    runtime.settings = runtime.settings.model_copy(
        update={"opt_out_words": "STOP", "opt_in_words": "UNSTOP"}
    )
    contact = acknowledged_by_case_manager(client, world, session)
    text_in(client, world, world.client_phone, "End")
    assert not opted_out(session, world, world.client_phone)
    assert twilio.to(world.case_manager.phone)[-1].body == f"#{contact.id}: End"


def test_texts_before_acknowledgement_reach_everyone_paged_at_the_current_level(
    client, world, session, twilio
):
    text_in(client, world, world.client_phone, "are you there")
    contact = the_contact(session)
    text_in(client, world, world.client_phone, "please, it is bad tonight")
    assert twilio.to(world.case_manager.phone)[-1].body == (
        f"#{contact.id}: please, it is bad tonight"
    )
    assert twilio.to(world.backup_cm.phone) == []  # level 2 is not paged yet


def test_a_staff_members_yes_reaches_the_client(client, world, session, twilio):
    acknowledged_by_case_manager(client, world, session)
    for word in ("Yes", "No", "OK"):
        text_in(client, world, world.case_manager.phone, word)
        assert twilio.to(world.client_phone)[-1].body == word
    session.expire_all()
    assert not opted_out(session, world, world.case_manager.phone)


def test_an_impossible_contact_reference_is_answered_at_once_and_holds_nothing_up(
    client, world, session, twilio
):
    from app.messaging.models import InboxMessage

    contact = acknowledged_by_case_manager(client, world, session)
    for ref in ("9" * 23, "7" * 5000):
        text_in(client, world, world.case_manager.phone, f"#{ref} ACK")
        assert twilio.to(world.case_manager.phone)[-1].body.startswith("No contact #")
        text_in(client, world, world.case_manager.phone, f"#{contact.id} still here")
        assert twilio.to(world.client_phone)[-1].body == "still here"
    session.expire_all()
    outcomes = session.execute(select(InboxMessage.outcome)).scalars().all()
    assert "failed" not in outcomes and None not in outcomes


def test_each_levels_first_notification_carries_the_words_in_two_segments(
    client, world, session, twilio, clock
):
    from app.messaging.texts import sms_length
    from tests.world import tick

    long_words = "I can't sleep and I keep thinking about the pills " * 8
    text_in(client, world, world.client_phone, long_words)
    text_in(client, world, world.client_phone, "HELP")
    [first] = twilio.to(world.case_manager.phone)[:1]
    assert 'Said: "I can' in first.body and first.body.endswith('..."')
    assert 300 <= sms_length(first.body)[0] <= 306  # as much as two segments hold
    clock.advance(seconds=301)
    tick(client.app)
    [level2, *after] = twilio.to(world.backup_cm.phone)
    assert 'Said: "I can' in level2.body and sms_length(level2.body)[0] <= 306
    # What the notification could not carry whole follows it, in full.
    contact_id = session.execute(select(Contact.id)).scalar_one()
    assert [m.body for m in after] == [
        f"#{contact_id}: {' '.join(long_words.split())}",
        f"#{contact_id}: HELP",
    ]
    assert twilio.to(world.case_manager.phone)[1].body == after[0].body
    # HELP from the client: the help suffix as before, and the word shown to staff.
    assert twilio.to(world.case_manager.phone)[-1].body.endswith(": HELP")


def test_a_team_may_send_only_the_link(client, world, session, twilio):
    from tests.conftest import auth

    response = client.patch(
        f"/v1/teams/{world.team.id}",
        json={"notify_include_text": False},
        headers=auth(world.supervisor_key),
    )
    assert response.status_code == 200 and response.json()["notify_include_text"] is False
    text_in(client, world, world.client_phone, "I am not doing well tonight")
    [note] = twilio.to(world.case_manager.phone)
    assert "not doing well" not in note.body and "/plan/" in note.body


def test_help_opening_a_contact_is_shown_to_staff(client, world, session, twilio):
    text_in(client, world, world.client_phone, "HELP")
    assert twilio.to(world.client_phone)[0].body.endswith("Reply STOP to stop texts.")
    assert twilio.to(world.case_manager.phone)[0].body.endswith('Said: "HELP"')
