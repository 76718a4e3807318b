"""Paging a speaker of the contact's language first (a team option): only
the order of the on-call levels changes, never who is paged, and the
client's own case managers stay first."""

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from app.routing import RoutingContext, StaffInfo, plan, speakers_first_after
from tests.routing.helpers import NOW, cm, context, rota, summary
from tests.routing.test_plan_properties import PROPERTY, contexts, reachable

OWN = ("assigned", "backup")  # the client's own case managers' levels
spoken = st.sampled_from([(), ("en",), ("es",), ("en", "es")])


@st.composite
def language_contexts(draw) -> RoutingContext:
    ctx = draw(contexts())
    staff = {
        staff_id: replace(info, languages_spoken=draw(spoken))
        for staff_id, info in ctx.staff.items()
    }
    return replace(
        ctx, staff=staff, language=draw(st.sampled_from(["en", "es"])), speakers_first=True
    )


def speaker(info: StaffInfo | None, language: str) -> bool:
    return info is not None and language in info.languages_spoken


@PROPERTY
@given(language_contexts())
def test_speakers_first_only_reorders_the_on_call_levels(ctx):
    first = plan(ctx, NOW)
    plain = plan(replace(ctx, speakers_first=False), NOW)
    # The same levels, the same people, the same timeouts: only their order.
    assert sorted(summary(first)) == sorted(summary(plain))
    assert len(first) == len(plain) and first[-1] == plain[-1]
    # Everything but the on-call levels stays where it was: the client's own
    # case managers first, the supervisors and the fallback last.
    assert [lv.kind for lv in first] == [lv.kind for lv in plain]
    for a, b in zip(first, plain):
        if a.kind != "rota":
            assert (a.staff_ids, a.timeout_seconds, a.label) == (
                b.staff_ids,
                b.timeout_seconds,
                b.label,
            )
    if ctx.policy is None:
        on_call = [lv for lv in first if lv.kind == "rota"]
        speaks = [speaker(ctx.staff.get(lv.staff_ids[0]), ctx.language) for lv in on_call]
        # Every speaker's on-call level before every other on-call level.
        assert speaks == sorted(speaks, reverse=True)
    else:
        assert first == plain  # a team's own policy keeps its order


@PROPERTY
@given(language_contexts())
def test_speakers_first_never_skips_or_moves_the_clients_own_case_managers(ctx):
    first = plan(ctx, NOW)
    plain = plan(replace(ctx, speakers_first=False), NOW)

    def own(levels):
        return [(i, lv.kind, lv.staff_ids) for i, lv in enumerate(levels) if lv.kind in OWN]

    assert own(first) == own(plain)
    # Whatever languages anyone speaks: a reachable, available assigned case
    # manager is level 1, and the backup case manager comes straight after.
    if ctx.policy is None and reachable(ctx, ctx.client_assigned_id, needs_available=True):
        assert (first[0].kind, first[0].staff_ids) == ("assigned", (ctx.client_assigned_id,))
    backup = ctx.client_backup_id
    if (
        ctx.policy is None
        and backup != ctx.client_assigned_id
        and reachable(ctx, backup, needs_available=True)
    ):
        kinds = [lv.kind for lv in first]
        assert kinds.index("backup") == (1 if kinds[0] == "assigned" else 0)


def test_a_spanish_speaker_on_the_backup_rota_is_paged_before_the_primary():
    staff = [
        replace(cm(1), languages_spoken=("en",)),
        replace(cm(2), languages_spoken=("en", "es")),
        replace(cm(3), languages_spoken=("en",)),
    ]
    ctx = replace(
        context(staff=staff, assigned=3, on_call=[rota(10, 1, 1), rota(11, 2, 2)]),
        language="es",
        speakers_first=True,
    )
    assert summary(plan(ctx, NOW)) == [
        ("assigned", (3,)),  # the client's own case manager first, speaker or not
        ("rota", (2,)),
        ("rota", (1,)),
        ("fallback", ()),
    ]
    # Without the option, or for an English contact: by priority.
    for other in (replace(ctx, speakers_first=False), replace(ctx, language="en")):
        assert summary(plan(other, NOW))[1:3] == [("rota", (1,)), ("rota", (2,))]


@PROPERTY
@given(language_contexts(), st.integers(0, 8), st.sets(st.integers(1, 14)))
def test_moving_speakers_forward_later_moves_only_the_on_call_levels_not_yet_told(
    ctx, after, speakers
):
    levels = plan(ctx, NOW)
    moved = speakers_first_after(levels, after=after, speakers=speakers)
    assert [lv.number for lv in moved] == list(range(1, len(levels) + 1))
    assert sorted(summary(moved)) == sorted(summary(levels))
    for old, new in zip(levels, moved):
        if old.number <= after or old.kind != "rota":
            # Told already, or not an on-call level (the client's own case
            # managers, the supervisors, the fallback, a policy's levels): in place.
            assert old == new
        else:
            assert new.kind == "rota"
    later = [lv.staff_ids[0] in speakers for lv in moved if lv.number > after and lv.kind == "rota"]
    assert later == sorted(later, reverse=True)
    assert speakers_first_after(moved, after=after, speakers=speakers) == moved


def test_a_later_spanish_text_moves_the_speaker_ahead_of_the_on_call_levels_not_yet_told():
    staff = [replace(cm(n), languages_spoken=("es",) if n == 3 else ("en",)) for n in (1, 2, 3)]
    ctx = context(staff=staff, on_call=[rota(10, 1, 1), rota(11, 2, 2), rota(12, 3, 3)])
    levels = plan(ctx, NOW)
    assert summary(levels)[:3] == [("rota", (1,)), ("rota", (2,)), ("rota", (3,))]
    moved = speakers_first_after(levels, after=1, speakers={3})
    assert summary(moved)[:3] == [("rota", (1,)), ("rota", (3,)), ("rota", (2,))]
    assert [lv.number for lv in moved[:3]] == [1, 2, 3]
