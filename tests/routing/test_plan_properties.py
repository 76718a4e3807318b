"""Invariants of the route plan over random teams, callers, rotas and policies."""

import json
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from app.routing import (
    PolicyLevel,
    RotaOnCallInfo,
    RoutingContext,
    StaffInfo,
    Target,
    plan,
    plan_from_json,
    plan_to_json,
)
from tests.routing.helpers import NOW

PROPERTY = settings(max_examples=200, deadline=None)

mostly_true = st.sampled_from([True, True, True, False])
# Ids 1..12 may be team members; 13 and 14 never are (a stale or foreign id).
person_ids = st.integers(1, 14)
rota_ids = st.integers(1, 8)
timeouts = st.integers(1, 3600)


@st.composite
def team_staff(draw) -> dict[int, StaffInfo]:
    staff = {}
    for staff_id in sorted(draw(st.sets(st.integers(1, 12), max_size=12))):
        on_leave = draw(st.sampled_from([False, False, False, True]))
        staff[staff_id] = StaffInfo(
            id=staff_id,
            role=draw(st.sampled_from(["case_manager", "case_manager", "supervisor"])),
            active=draw(mostly_true),
            sms_ok=draw(mostly_true),
            available=draw(st.booleans()) and not on_leave,  # is_available is False on leave
            on_leave=on_leave,
        )
    return staff


@st.composite
def snapshots(draw) -> tuple[RotaOnCallInfo, ...]:
    ids = draw(st.lists(rota_ids, unique=True, max_size=5))
    return tuple(
        RotaOnCallInfo(
            rota_id=i, priority=draw(st.integers(1, 4)), staff_id=draw(st.none() | person_ids)
        )
        for i in ids
    )


targets = st.one_of(
    st.sampled_from([Target("assigned"), Target("backup"), Target("supervisors")]),
    st.builds(Target, st.just("rota"), rota_ids),
    st.builds(Target, st.just("rota_priority"), st.integers(1, 4)),
    st.builds(Target, st.just("staff"), person_ids),
)
policies = st.none() | st.lists(
    st.builds(PolicyLevel, st.lists(targets, max_size=3).map(tuple), st.none() | timeouts),
    min_size=1,
    max_size=4,
).map(tuple)


@st.composite
def contexts(draw) -> RoutingContext:
    staff = draw(team_staff())
    member = st.sampled_from(sorted(staff)) if staff else person_ids
    known = draw(st.booleans())
    return RoutingContext(
        client_assigned_id=draw(member | person_ids) if known else None,
        client_backup_id=draw(st.none() | member | person_ids) if known else None,
        staff=staff,
        on_call=draw(snapshots()),
        policy=draw(policies),
        ack_timeout_seconds=draw(timeouts),
        priority_timeout_seconds=draw(timeouts),
        high_priority=draw(st.booleans()),
        fallback_number=draw(st.sampled_from(["+12015550199", "988"])),
        channel=draw(st.sampled_from(["sms", "voice"])),
    )


def people(levels) -> list[int]:
    return [staff_id for level in levels for staff_id in level.staff_ids]


def reachable(ctx: RoutingContext, staff_id, *, needs_available=False) -> bool:
    info = ctx.staff.get(staff_id)
    return (
        info is not None
        and info.active
        and not info.on_leave
        and (info.sms_ok or ctx.channel == "voice")
        and (info.available or not needs_available)
    )


@PROPERTY
@given(contexts())
def test_fallback_is_last_and_only_last(ctx):
    levels = plan(ctx, NOW)
    assert levels[-1].kind == "fallback"
    assert levels[-1].number_to_dial == ctx.fallback_number
    assert levels[-1].staff_ids == () and levels[-1].timeout_seconds == 0
    assert all(level.kind != "fallback" and level.staff_ids for level in levels[:-1])


@PROPERTY
@given(contexts())
def test_levels_are_numbered_one_to_n(ctx):
    levels = plan(ctx, NOW)
    assert [level.number for level in levels] == list(range(1, len(levels) + 1))


@PROPERTY
@given(contexts())
def test_nobody_is_notified_twice(ctx):
    notified = people(plan(ctx, NOW))
    assert len(notified) == len(set(notified))


@PROPERTY
@given(contexts())
def test_everyone_notified_or_copied_is_an_active_team_member_not_on_leave(ctx):
    levels = plan(ctx, NOW)
    for staff_id in people(levels) + [s for level in levels for s in level.copy_staff_ids]:
        assert staff_id in ctx.staff
        assert ctx.staff[staff_id].active
        assert not ctx.staff[staff_id].on_leave


@PROPERTY
@given(contexts())
def test_sms_never_reaches_someone_who_opted_out(ctx):
    levels = plan(replace(ctx, channel="sms"), NOW)
    for staff_id in people(levels) + [s for level in levels for s in level.copy_staff_ids]:
        assert ctx.staff[staff_id].sms_ok


@PROPERTY
@given(contexts())
def test_a_reachable_available_assigned_case_manager_is_level_one(ctx):
    ctx = replace(ctx, policy=None)
    assigned = ctx.client_assigned_id
    levels = plan(ctx, NOW)
    if reachable(ctx, assigned, needs_available=True):
        assert (levels[0].kind, levels[0].staff_ids) == ("assigned", (assigned,))
    else:
        assert all(level.kind != "assigned" for level in levels)


@PROPERTY
@given(contexts())
def test_unknown_caller_gets_no_case_manager_levels(ctx):
    unknown = replace(ctx, client_assigned_id=None, client_backup_id=None)
    levels = plan(unknown, NOW)
    assert not {"assigned", "backup"} & {level.kind for level in levels}
    # ...and starts where a known caller with nobody available would.
    absent = replace(ctx, client_assigned_id=14, client_backup_id=13)
    assert levels == plan(absent, NOW)


@PROPERTY
@given(contexts())
def test_default_plan_reaches_exactly_the_reachable_people_in_order(ctx):
    ctx = replace(ctx, policy=None)
    levels = plan(ctx, NOW)
    expected = {
        s
        for s in (ctx.client_assigned_id, ctx.client_backup_id)
        if reachable(ctx, s, needs_available=True)
    }
    expected |= {r.staff_id for r in ctx.on_call if reachable(ctx, r.staff_id)}
    expected |= {
        s for s, info in ctx.staff.items() if info.role == "supervisor" and reachable(ctx, s)
    }
    assert set(people(levels)) == expected
    order = ["assigned", "backup", "rota", "supervisors", "fallback"]
    kinds = [order.index(level.kind) for level in levels]
    assert kinds == sorted(kinds)
    priorities = {r.rota_id: r.priority for r in ctx.on_call}
    rota_priorities = [priorities[level.rota_id] for level in levels if level.kind == "rota"]
    assert rota_priorities == sorted(rota_priorities)


@PROPERTY
@given(contexts())
def test_policy_plan_follows_the_policy_levels(ctx):
    if ctx.policy is None:
        return
    normal = plan(replace(ctx, high_priority=False), NOW)
    assert all(level.kind == "policy" for level in normal[:-1])
    assert len(normal) - 1 <= len(ctx.policy)
    allowed = {level.timeout_seconds or ctx.ack_timeout_seconds for level in ctx.policy}
    assert {level.timeout_seconds for level in normal[:-1]} <= allowed


@PROPERTY
@given(contexts())
def test_high_priority_only_raises_urgency(ctx):
    normal = plan(replace(ctx, high_priority=False), NOW)
    urgent = plan(replace(ctx, high_priority=True), NOW)
    assert set(people(normal)) <= set(people(urgent))
    assert len(urgent) == len(normal)
    for fast, slow in zip(urgent, normal):
        assert fast.staff_ids == slow.staff_ids
        assert fast.timeout_seconds <= slow.timeout_seconds
        assert fast.timeout_seconds <= ctx.priority_timeout_seconds or fast.kind == "fallback"


@PROPERTY
@given(contexts())
def test_supervisors_are_copied_at_level_one_only_when_high_priority(ctx):
    levels = plan(ctx, NOW)
    assert all(level.copy_staff_ids == () for level in levels[1:])
    copies = levels[0].copy_staff_ids
    if not ctx.high_priority:
        assert copies == ()
        return
    expected = {
        s
        for s, info in ctx.staff.items()
        if info.role == "supervisor" and info.active and not info.on_leave and info.sms_ok
    } - set(levels[0].staff_ids)
    assert set(copies) == expected


@PROPERTY
@given(contexts(), st.randoms(use_true_random=False))
def test_plan_is_deterministic_whatever_the_input_order(ctx, rnd):
    staff_items = list(ctx.staff.items())
    rnd.shuffle(staff_items)
    on_call = list(ctx.on_call)
    rnd.shuffle(on_call)
    shuffled = replace(ctx, staff=dict(staff_items), on_call=tuple(on_call))
    first = plan(ctx, NOW)
    assert plan(ctx, NOW) == first
    assert plan(shuffled, NOW) == first


@PROPERTY
@given(contexts())
def test_json_round_trip(ctx):
    levels = plan(ctx, NOW)
    assert plan_from_json(plan_to_json(levels)) == levels
    assert plan_from_json(json.loads(json.dumps(plan_to_json(levels)))) == levels
