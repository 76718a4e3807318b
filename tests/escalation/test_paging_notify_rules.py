"""Notification rules: the pure decisions, and the staff API that sets them."""

from __future__ import annotations

import pytest

from app.escalation import notify_rules
from app.escalation.notify_rules import Rule
from tests.conftest import auth
from tests.factories import make_key, make_staff, make_team

SMS0 = {"channel": "sms", "after_seconds": 0}
CALL60 = {"channel": "call", "after_seconds": 60}


def test_default_is_a_text_at_once_then_a_call_after_a_minute():
    assert notify_rules.effective(None, sms_ok=True) == (Rule(0, "sms"), Rule(60, "call"))


def test_opting_out_of_sms_keeps_the_calls_and_a_texts_only_person_is_called_at_once():
    assert notify_rules.effective([SMS0, CALL60], sms_ok=False) == (Rule(60, "call"),)
    assert notify_rules.effective([SMS0], sms_ok=False) == (Rule(0, "call"),)
    assert notify_rules.reachable([SMS0], sms_ok=False) is False
    assert notify_rules.reachable([SMS0, CALL60], sms_ok=False) is True


def test_a_team_minimum_adds_an_earlier_call_and_never_delays():
    minimum = [{"channel": "call", "after_seconds": 0}]
    assert notify_rules.effective([SMS0, CALL60], sms_ok=True, minimum=minimum) == (
        Rule(0, "call"),
        Rule(0, "sms"),
        Rule(60, "call"),
    )
    late_minimum = [{"channel": "call", "after_seconds": 120}]
    assert notify_rules.effective([SMS0, CALL60], sms_ok=True, minimum=late_minimum) == (
        Rule(0, "sms"),
        Rule(60, "call"),
    )


@pytest.mark.parametrize(
    ("rules", "loc"),
    [
        ([], ["body", "notify_rules"]),
        ([{"channel": "call", "after_seconds": 601}], ["body", "notify_rules", 0, "after_seconds"]),
        ([{"channel": "call", "after_seconds": -1}], ["body", "notify_rules", 0, "after_seconds"]),
        ([{"channel": "fax", "after_seconds": 0}], ["body", "notify_rules", 0, "channel"]),
        ([SMS0, SMS0], ["body", "notify_rules", 1]),
        # At or beyond the team's 300 s acknowledgement timeout: it would never fire.
        (
            [SMS0, {"channel": "call", "after_seconds": 300}],
            ["body", "notify_rules", 1, "after_seconds"],
        ),
    ],
)
def test_bad_rules_are_refused_naming_the_rule_and_nothing_changes(
    client, session, admin_key, rules, loc
):
    team = make_team(session, ack_timeout_seconds=300)
    staff = make_staff(session, team, notify_rules=[SMS0])
    session.commit()
    response = client.patch(
        f"/v1/staff/{staff.id}", json={"notify_rules": rules}, headers=auth(admin_key)
    )
    assert response.status_code == 422, response.text
    assert any(error["loc"][: len(loc)] == loc for error in response.json()["detail"]), (
        response.text
    )
    assert client.get(f"/v1/staff/{staff.id}", headers=auth(admin_key)).json()["notify_rules"] == [
        SMS0
    ]
    created = client.post(
        f"/v1/teams/{team.id}/staff",
        json={
            "name": "New",
            "phone": "+12015550177",
            "role": "case_manager",
            "notify_rules": rules,
        },
        headers=auth(admin_key),
    )
    assert created.status_code == 422


def test_supervisors_set_rules_and_staff_show_the_defaults(client, session):
    team = make_team(session)
    key = make_key(session, "supervisor", team)
    session.commit()
    created = client.post(
        f"/v1/teams/{team.id}/staff",
        json={"name": "Casey", "phone": "+12015550178", "role": "case_manager"},
        headers=auth(key),
    )
    assert created.status_code == 201
    assert created.json()["notify_rules"] == [SMS0, CALL60]
    rules = [{"channel": "call", "after_seconds": 0}, {"channel": "sms", "after_seconds": 30}]
    changed = client.patch(
        f"/v1/staff/{created.json()['id']}", json={"notify_rules": rules}, headers=auth(key)
    )
    assert changed.status_code == 200 and changed.json()["notify_rules"] == rules


def test_a_person_sets_their_own_rules_with_a_key_bound_to_them_and_nothing_else(client, session):
    team = make_team(session)
    casey = make_staff(session, team)
    other = make_staff(session, team)
    own_key = make_key(session, "case_manager", team, staff=casey)
    session.commit()
    rules = [{"channel": "call", "after_seconds": 0}]
    mine = client.patch(
        f"/v1/staff/{casey.id}", json={"notify_rules": rules}, headers=auth(own_key)
    )
    assert mine.status_code == 200 and mine.json()["notify_rules"] == rules
    assert (
        client.patch(
            f"/v1/staff/{other.id}", json={"notify_rules": rules}, headers=auth(own_key)
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"/v1/staff/{casey.id}", json={"name": "Boss"}, headers=auth(own_key)
        ).status_code
        == 403
    )


def test_the_ack_timeout_cannot_drop_below_someones_rules(client, session, admin_key):
    team = make_team(session, ack_timeout_seconds=300)
    make_staff(session, team, notify_rules=[SMS0, {"channel": "call", "after_seconds": 240}])
    session.commit()
    response = client.patch(
        f"/v1/teams/{team.id}", json={"ack_timeout_seconds": 200}, headers=auth(admin_key)
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "ack_timeout_seconds"]


def test_a_team_minimum_is_validated_and_stored(client, session, admin_key):
    team = make_team(session)
    session.commit()
    bad = client.patch(
        f"/v1/teams/{team.id}",
        json={"priority_notify_minimum": [{"channel": "call", "after_seconds": 500}]},
        headers=auth(admin_key),
    )
    assert bad.status_code == 422
    good = client.patch(
        f"/v1/teams/{team.id}",
        json={"priority_notify_minimum": [{"channel": "call", "after_seconds": 0}]},
        headers=auth(admin_key),
    )
    assert good.status_code == 200
    assert good.json()["priority_notify_minimum"] == [{"channel": "call", "after_seconds": 0}]
