"""The claim alone: which due messages a round takes, and how it splits them
into lanes. No transport, no loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

from app.messaging.claim import LEASE, claim, lanes
from app.messaging.models import OutboundMessage
from tests.factories import make_team
from tests.messaging.helpers import NOW, queue, sms_contact


@dataclass(frozen=True)
class Row:
    id: int
    contact_id: int | None
    to_number: str
    purpose: str
    from_number: str = "+19735550100"
    body: str = ""


def test_lanes_keep_one_recipient_in_order_and_let_other_recipients_go_side_by_side():
    client_reply = Row(1, 7, "+12015550101", "auto_reply")
    notify_a = Row(2, 7, "+12015550201", "notify")
    relay = Row(3, 7, "+12015550101", "relay")
    other_contact = Row(4, 8, "+12015550102", "auto_reply")
    found = lanes([relay, other_contact, notify_a, client_reply])
    assert sorted(found, key=lambda lane: lane[0].id) == [
        [client_reply, relay],
        [notify_a],
        [other_contact],
    ]


def test_a_contacts_level_messages_share_one_lane_whoever_receives_them():
    level_1 = Row(1, 7, "+12015550201", "notify")
    alert = Row(2, 7, "+12015550301", "alert")
    level_2 = Row(3, 7, "+12015550202", "notify")
    assert lanes([level_2, alert, level_1]) == [[level_1, alert, level_2]]


def test_lanes_joined_where_they_meet_stay_in_id_order():
    relay_to_staff = Row(1, 7, "+12015550201", "relay")
    other_number_notify = Row(2, 7, "+12015550202", "notify")
    notify_same_staff = Row(3, 7, "+12015550201", "notify")
    assert lanes([notify_same_staff, other_number_notify, relay_to_staff]) == [
        [relay_to_staff, other_number_notify, notify_same_staff]
    ]


def test_a_message_without_a_contact_is_a_lane_of_its_own():
    one, two = Row(1, None, "+12015550201", "login"), Row(2, None, "+12015550201", "login")
    assert sorted(lanes([two, one]), key=lambda lane: lane[0].id) == [[one], [two]]


def test_claim_takes_due_messages_under_a_lease_and_skips_one_behind_a_busy_lane(db):
    with db.session() as session:
        team = make_team(session)
        contact = sms_contact(session, team, "+12015550101")
        first = queue(session, team, contact, "first")
        second = queue(session, team, contact, "second")
        later = queue(session, team, contact, "later")
        elsewhere = queue(session, team, contact, "to staff", to="+12015550201")
        session.get(OutboundMessage, later).next_attempt_at = NOW + timedelta(minutes=5)
        being_sent = session.get(OutboundMessage, first)
        being_sent.status, being_sent.next_attempt_at = "sending", NOW + LEASE

    claimed = claim(db, None, NOW)

    # `second` waits behind `first` (being sent under its lease); `later` is not due yet.
    assert [row.id for row in claimed] == [elsewhere]
    assert claimed[0].body == "to staff"
    with db.session() as session:
        taken = session.get(OutboundMessage, elsewhere)
        assert (taken.status, taken.attempts) == ("sending", 1)
        assert taken.next_attempt_at.replace(tzinfo=UTC) == NOW + LEASE
        assert session.get(OutboundMessage, second).status == "pending"
    assert claim(db, None, NOW) == []  # a claimed message is not claimed again


def test_claim_of_given_ids_takes_only_those(db):
    with db.session() as session:
        team = make_team(session)
        contacts = []
        for n in range(2):
            contact = sms_contact(session, team, f"+1201555011{n}")
            contacts.append(contact)
        mine = queue(session, team, contacts[0], "mine", to=contacts[0].from_number)
        queue(session, team, contacts[1], "not asked for", to=contacts[1].from_number)
    assert [row.id for row in claim(db, [mine], NOW)] == [mine]


def test_two_contacts_level_messages_go_side_by_side():
    first = Row(1, 7, "+12015550201", "notify")
    second = Row(2, 8, "+12015550202", "notify")
    assert lanes([second, first]) == [[first], [second]]


def test_a_joined_lane_keeps_the_keys_of_every_lane_it_joined():
    relay_to_staff = Row(1, 7, "+12015550201", "relay")
    other_number_notify = Row(2, 7, "+12015550202", "notify")
    notify_same_staff = Row(3, 7, "+12015550201", "notify")
    next_relay = Row(4, 7, "+12015550201", "relay")
    assert lanes([next_relay, notify_same_staff, other_number_notify, relay_to_staff]) == [
        [relay_to_staff, other_number_notify, notify_same_staff, next_relay]
    ]
