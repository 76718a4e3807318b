from dataclasses import replace
from datetime import datetime

import pytest

from app.routing import (
    Level,
    PolicyLevel,
    RoutingContext,
    StaffInfo,
    Target,
    fallback_plan,
    parse_policy,
    plan,
    plan_from_json,
    plan_to_json,
)
from tests.routing.helpers import FALLBACK, NOW, cm, context, rota, summary, sup

# A full team: 1 assigned, 2 backup, 3/4/5 on call on rotas of priority 1/2/3, 8 and 9 supervisors.
TEAM = (cm(1), cm(2), cm(3), cm(4), cm(5), sup(8), sup(9))
ROTAS = (rota(30, 3, 5), rota(10, 1, 3), rota(20, 2, 4))


def full(**overrides):
    args = {"staff": TEAM, "assigned": 1, "backup": 2, "on_call": ROTAS}
    args.update(overrides)
    return context(**args)


# ------------------------------------------------------------ the default plan


def test_default_plan_order_labels_and_timeouts():
    levels = plan(full(), NOW)
    assert summary(levels) == [
        ("assigned", (1,)),
        ("backup", (2,)),
        ("rota", (3,)),
        ("rota", (4,)),
        ("rota", (5,)),
        ("supervisors", (8, 9)),
        ("fallback", ()),
    ]
    assert [level.number for level in levels] == [1, 2, 3, 4, 5, 6, 7]
    assert [level.label for level in levels] == [
        "assigned case manager",
        "backup case manager",
        "primary on-call",
        "backup on-call",
        "on-call (priority 3)",
        "supervisors",
        "external fallback",
    ]
    assert [level.rota_id for level in levels] == [None, None, 10, 20, 30, None, None]
    assert [level.timeout_seconds for level in levels] == [300] * 6 + [0]
    assert levels[-1].number_to_dial == FALLBACK
    assert all(level.number_to_dial is None for level in levels[:-1])
    assert all(level.copy_staff_ids == () for level in levels)


def test_unavailable_assigned_case_manager_is_skipped_and_numbers_stay_consecutive():
    levels = plan(full(staff=(cm(1, available=False),) + TEAM[1:]), NOW)
    assert summary(levels)[0] == ("backup", (2,))
    assert [level.number for level in levels] == list(range(1, len(levels) + 1))
    assert 1 not in {s for level in levels for s in level.staff_ids}


def test_unavailable_backup_is_skipped():
    levels = plan(full(staff=(cm(1), cm(2, available=False)) + TEAM[2:]), NOW)
    assert [kind for kind, _ in summary(levels)][:2] == ["assigned", "rota"]


def test_inactive_staff_never_appear_even_when_available_or_on_call():
    staff = (
        cm(1, active=False),
        cm(2),
        cm(3, active=False),
        cm(4),
        cm(5),
        sup(8, active=False),
        sup(9),
    )
    levels = plan(full(staff=staff), NOW)
    assert summary(levels) == [
        ("backup", (2,)),
        ("rota", (4,)),
        ("rota", (5,)),
        ("supervisors", (9,)),
        ("fallback", ()),
    ]


def test_ids_outside_the_team_never_appear():
    levels = plan(full(assigned=77, backup=78, on_call=(rota(10, 1, 79), rota(20, 2, 4))), NOW)
    assert summary(levels) == [("rota", (4,)), ("supervisors", (8, 9)), ("fallback", ())]


def test_rota_staff_need_not_be_in_working_hours_but_leave_excludes():
    staff = (cm(1), cm(2), cm(3, available=False), cm(4, on_leave=True), cm(5), sup(8), sup(9))
    levels = plan(full(staff=staff), NOW)
    rota_levels = [level for level in levels if level.kind == "rota"]
    assert [(level.rota_id, level.staff_ids) for level in rota_levels] == [(10, (3,)), (30, (5,))]


def test_rota_with_nobody_on_call_is_skipped():
    levels = plan(full(on_call=(rota(10, 1, None), rota(20, 2, 4))), NOW)
    assert [(level.label, level.staff_ids) for level in levels if level.kind == "rota"] == [
        ("backup on-call", (4,))
    ]


def test_rotas_are_ordered_by_priority_then_id_whatever_the_input_order():
    on_call = (rota(31, 2, 5), rota(12, 1, 4), rota(11, 1, 3))
    levels = plan(full(on_call=on_call), NOW)
    assert [(level.rota_id, level.label) for level in levels if level.kind == "rota"] == [
        (11, "primary on-call"),
        (12, "primary on-call"),
        (31, "backup on-call"),
    ]


def test_nobody_twice_first_occurrence_wins():
    # 1 (assigned) and 2 (backup) are also on call, and so is supervisor 8.
    on_call = (rota(10, 1, 1), rota(20, 2, 2), rota(30, 3, 8))
    levels = plan(full(on_call=on_call), NOW)
    assert summary(levels) == [
        ("assigned", (1,)),
        ("backup", (2,)),
        ("rota", (8,)),
        ("supervisors", (9,)),
        ("fallback", ()),
    ]
    assert [level.number for level in levels] == [1, 2, 3, 4, 5]


def test_same_person_as_assigned_and_backup_is_tried_once():
    levels = plan(full(backup=1), NOW)
    assert summary(levels)[:2] == [("assigned", (1,)), ("rota", (3,))]


def test_supervisors_are_one_level_sorted_and_need_not_be_in_working_hours():
    staff = TEAM[:5] + (sup(9, available=False), sup(8, available=True), sup(7, on_leave=True))
    levels = plan(full(staff=staff), NOW)
    assert [level.staff_ids for level in levels if level.kind == "supervisors"] == [(8, 9)]


def test_fallback_is_always_last_even_when_nobody_can_be_reached():
    levels = plan(context(staff=(), assigned=None, on_call=(rota(1, 1, None),)), NOW)
    assert len(levels) == 1
    only = levels[0]
    assert (only.number, only.kind, only.staff_ids, only.timeout_seconds, only.number_to_dial) == (
        1,
        "fallback",
        (),
        0,
        FALLBACK,
    )


def test_unknown_caller_starts_at_the_rotas():
    levels = plan(full(assigned=None, backup=None), NOW)
    assert summary(levels)[0] == ("rota", (3,))
    assert not {"assigned", "backup"} & {level.kind for level in levels}


# ------------------------------------------------------------ channels


def test_sms_skips_opted_out_staff_voice_keeps_them():
    staff = (
        cm(1, sms_ok=False),
        cm(2),
        cm(3, sms_ok=False),
        cm(4),
        cm(5),
        sup(8, sms_ok=False),
        sup(9),
    )
    sms = plan(full(staff=staff), NOW)
    assert summary(sms) == [
        ("backup", (2,)),
        ("rota", (4,)),
        ("rota", (5,)),
        ("supervisors", (9,)),
        ("fallback", ()),
    ]
    voice = plan(full(staff=staff, channel="voice"), NOW)
    assert summary(voice) == summary(plan(full(), NOW))


# ------------------------------------------------------------ high priority


def test_high_priority_shortens_timeouts_and_copies_supervisors_at_level_1():
    normal = plan(full(), NOW)
    urgent = plan(full(high_priority=True), NOW)
    assert summary(urgent) == summary(normal)
    assert [level.timeout_seconds for level in urgent] == [120] * 6 + [0]
    assert urgent[0].copy_staff_ids == (8, 9)
    assert all(level.copy_staff_ids == () for level in urgent[1:])
    # Copies are extra: the supervisors keep their own level.
    assert urgent[5].kind == "supervisors" and urgent[5].staff_ids == (8, 9)


def test_high_priority_never_lengthens_a_timeout():
    urgent = plan(full(ack=60, priority_timeout=600, high_priority=True), NOW)
    assert [level.timeout_seconds for level in urgent][:-1] == [60] * 6


def test_copies_skip_level_1_members_inactive_on_leave_and_opted_out_supervisors_even_for_voice():
    staff = TEAM[:5] + (sup(6), sup(7, active=False), sup(8, on_leave=True), sup(9, sms_ok=False))
    on_call = (rota(10, 1, 6),)
    unknown = plan(
        full(
            staff=staff,
            assigned=None,
            backup=None,
            on_call=on_call,
            high_priority=True,
            channel="voice",
        ),
        NOW,
    )
    assert unknown[0].staff_ids == (6,)
    assert unknown[0].copy_staff_ids == ()  # 6 is already notified, 9 can't be texted
    known = plan(full(staff=staff, on_call=on_call, high_priority=True, channel="voice"), NOW)
    assert known[0].staff_ids == (1,) and known[0].copy_staff_ids == (6,)


def test_no_copies_at_normal_priority():
    assert plan(full(), NOW)[0].copy_staff_ids == ()


# ------------------------------------------------------------ team policy


def test_policy_replaces_the_default_and_keeps_the_fallback_last():
    policy = (
        PolicyLevel(targets=(Target("rota_priority", 2),), timeout_seconds=60),
        PolicyLevel(targets=(Target("assigned"), Target("staff", 5))),
        PolicyLevel(targets=(Target("supervisors"),), timeout_seconds=900),
    )
    levels = plan(full(policy=policy), NOW)
    assert [(level.kind, level.staff_ids, level.timeout_seconds) for level in levels] == [
        ("policy", (4,), 60),
        ("policy", (1, 5), 300),
        ("policy", (8, 9), 900),
        ("fallback", (), 0),
    ]
    assert [level.label for level in levels] == [
        "backup on-call",
        "assigned case manager + staff member",
        "supervisors",
        "external fallback",
    ]
    assert levels[0].rota_id == 20 and levels[1].rota_id is None


def test_policy_targets_resolve_by_their_own_rules():
    staff = (
        cm(1, available=False),
        cm(2),
        cm(3, available=False),
        cm(4, active=False),
        cm(5),
        sup(8),
        sup(9),
    )
    policy = (
        PolicyLevel(targets=(Target("assigned"),)),  # unavailable: dropped
        PolicyLevel(targets=(Target("backup"),)),
        PolicyLevel(targets=(Target("rota", 10),)),  # on call need not be in working hours
        PolicyLevel(targets=(Target("staff", 4),)),  # inactive: dropped
        PolicyLevel(targets=(Target("rota", 99),)),  # not a team rota: dropped
        PolicyLevel(targets=(Target("staff", 2), Target("staff", 5))),  # 2 already tried
    )
    levels = plan(full(staff=staff, policy=policy), NOW)
    assert [(level.number, level.staff_ids) for level in levels] == [
        (1, (2,)),
        (2, (3,)),
        (3, (5,)),
        (4, ()),
    ]
    assert levels[1].rota_id == 10


def test_a_policy_level_with_no_targets_is_dropped_not_fatal():
    policy = (PolicyLevel(targets=()), PolicyLevel(targets=(Target("staff", 3),)))
    assert summary(plan(full(policy=policy), NOW)) == [("policy", (3,)), ("fallback", ())]


def test_fallback_plan_is_the_fallback_alone():
    assert fallback_plan(FALLBACK) == plan(context(staff=()), NOW)


def test_policy_for_an_unknown_caller_drops_case_manager_targets():
    policy = (
        PolicyLevel(targets=(Target("assigned"), Target("backup"))),
        PolicyLevel(targets=(Target("rota", 10),)),
    )
    levels = plan(full(assigned=None, backup=None, policy=policy), NOW)
    assert summary(levels) == [("policy", (3,)), ("fallback", ())]


def test_policy_high_priority_takes_the_shorter_timeout_and_copies_supervisors():
    policy = (
        PolicyLevel(targets=(Target("staff", 3),), timeout_seconds=30),
        PolicyLevel(targets=(Target("staff", 4),)),
    )
    levels = plan(full(policy=policy, high_priority=True), NOW)
    assert [level.timeout_seconds for level in levels] == [30, 120, 0]
    assert levels[0].copy_staff_ids == (8, 9)


def test_parse_policy_reads_the_team_json():
    stored = [
        {"targets": [{"kind": "assigned"}, {"kind": "rota", "id": 10}], "timeout_seconds": 120},
        {"targets": [{"kind": "supervisors"}], "timeout_seconds": None},
    ]
    parsed = parse_policy(stored)
    assert parsed == (
        PolicyLevel(targets=(Target("assigned"), Target("rota", 10)), timeout_seconds=120),
        PolicyLevel(targets=(Target("supervisors"),)),
    )
    assert [level.to_json() for level in parsed] == stored
    assert parse_policy(None) is None
    assert parse_policy([]) is None


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ([{"targets": [{"kind": "pager"}]}], r"escalation_policy\[0\]\.targets\[0\]\.kind"),
        (
            [{"targets": [{"kind": "assigned"}]}, {"targets": [{"kind": "staff"}]}],
            r"escalation_policy\[1\]\.targets\[0\]\.id",
        ),
        ([{"targets": []}], r"escalation_policy\[0\]\.targets"),
        (
            [{"targets": [{"kind": "supervisors"}], "timeout_seconds": 0}],
            r"escalation_policy\[0\]\.timeout_seconds",
        ),
        (
            [{"targets": [{"kind": "rota", "id": True}]}],
            r"escalation_policy\[0\]\.targets\[0\]\.id",
        ),
        ({"targets": []}, r"escalation_policy"),
    ],
)
def test_parse_policy_names_the_bad_field(stored, message):
    with pytest.raises(ValueError, match=message):
        parse_policy(stored)


# ------------------------------------------------------------ values and JSON


def test_json_round_trip_and_stored_shape():
    levels = plan(full(high_priority=True), NOW)
    data = plan_to_json(levels)
    assert data[0] == {
        "level": 1,
        "kind": "assigned",
        "staff_ids": [1],
        "timeout_seconds": 120,
        "label": "assigned case manager",
        "rota_id": None,
        "number_to_dial": None,
        "copy_staff_ids": [8, 9],
    }
    assert plan_from_json(data) == levels


def test_from_json_accepts_the_minimal_documented_shape():
    level = Level.from_json(
        {
            "level": 2,
            "kind": "rota",
            "staff_ids": [3],
            "timeout_seconds": 300,
            "label": "primary on-call",
        }
    )
    assert level == Level(
        number=2, kind="rota", staff_ids=(3,), timeout_seconds=300, label="primary on-call"
    )


def test_level_refuses_a_copy_that_repeats_a_member():
    with pytest.raises(ValueError, match="copy_staff_ids"):
        Level(
            number=1,
            kind="assigned",
            staff_ids=(1,),
            timeout_seconds=60,
            label="x",
            copy_staff_ids=(1,),
        )


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        plan(full(), datetime(2026, 6, 3, 3, 0))
    with pytest.raises(ValueError, match="channel"):
        full(channel="pager")
    with pytest.raises(ValueError, match="ack_timeout_seconds"):
        full(ack=0)
    with pytest.raises(ValueError, match="priority_timeout_seconds"):
        full(priority_timeout=-5)
    with pytest.raises(ValueError, match="staff"):
        RoutingContext(
            None,
            None,
            {1: StaffInfo(2, "case_manager", True, True, True)},
            (),
            None,
            300,
            120,
            False,
            FALLBACK,
        )
    with pytest.raises(ValueError, match="kind"):
        Target("everyone")


def test_plan_does_not_depend_on_input_order():
    ctx = full(high_priority=True)
    shuffled = replace(
        ctx, staff=dict(reversed(list(ctx.staff.items()))), on_call=tuple(reversed(ctx.on_call))
    )
    assert plan(shuffled, NOW) == plan(ctx, NOW)
