"""The chain's decisions as plain values."""

from __future__ import annotations

from app.escalation.voice_chain import (
    DONE,
    FALLBACK,
    STAFF,
    VOICEMAIL,
    caller_gone,
    first_dial,
    levels_up_to,
    next_dial,
    screen_prompt,
    screen_who,
    sms_handoff_level,
    voicemail_alert,
)
from app.routing.levels import Level, fallback_level

PLAN = (
    Level(
        number=1,
        kind="assigned",
        staff_ids=(10,),
        timeout_seconds=300,
        label="assigned case manager",
    ),
    Level(
        number=2,
        kind="rota",
        staff_ids=(11,),
        timeout_seconds=300,
        label="primary on-call",
        rota_id=1,
    ),
    Level(
        number=3, kind="supervisors", staff_ids=(12, 13), timeout_seconds=300, label="supervisors"
    ),
    fallback_level(4, "+19085550111"),
)


def test_levels_in_order_then_fallback():
    steps = [
        next_dial(PLAN, levels_up_to(PLAN, n), False) if n else next_dial(PLAN, (), False)
        for n in range(5)
    ]
    assert [(s.kind, s.level, s.staff_ids) for s in steps] == [
        (STAFF, 1, (10,)),
        (STAFF, 2, (11,)),
        (STAFF, 3, (12, 13)),
        (FALLBACK, 4, ()),
        (DONE, None, ()),
    ]
    assert steps[3].number == "+19085550111"


def test_accepted_is_done_whatever_is_left():
    assert next_dial(PLAN, (), True).kind == DONE


def test_voicemail_stands_before_the_fallback():
    assert next_dial(PLAN, {1, 2, 3}, False, voicemail_enabled=True).kind == VOICEMAIL
    assert (
        next_dial(PLAN, {1, 2, 3}, False, voicemail_enabled=True, voicemail_taken=True).kind
        == FALLBACK
    )


def test_nobody_is_dialled_twice():
    repeated = (
        PLAN[0],
        Level(number=2, kind="policy", staff_ids=(10, 11), timeout_seconds=60, label="x"),
        Level(number=3, kind="policy", staff_ids=(10,), timeout_seconds=60, label="y"),
        fallback_level(4, "988"),
    )
    assert next_dial(repeated, {1}, False).staff_ids == (11,)
    assert next_dial(repeated, {1, 2}, False).kind == FALLBACK


def test_sms_handoff_is_the_level_that_was_ringing():
    assert sms_handoff_level(PLAN, set(), 1) == 1
    assert sms_handoff_level(PLAN, {10, 11}, 2) == 2
    assert sms_handoff_level(PLAN, {10, 11, 12, 13}, 3) == 3


def test_caller_gone_and_prompt():
    assert caller_gone("completed") and caller_gone("canceled") and not caller_gone("in-progress")
    assert not caller_gone(None)
    assert screen_prompt(who="Sam", lang="en") == "Crisis call for Sam. Press 1 to accept."
    assert (
        screen_who(preferred_name=None, relation=None, ambiguous=False, lang="en")
        == "an unknown caller"
    )
    assert (
        screen_who(preferred_name="Sam", relation=None, ambiguous=True, lang="en")
        == "an unknown caller"
    )
    assert (
        screen_who(preferred_name="Sam", relation="mother", ambiguous=False, lang="en")
        == "mother of Sam"
    )


def test_the_screen_speaks_the_staff_members_language():
    assert screen_prompt(who="Sam", lang="es") == "Llamada de crisis de Sam. Oprima 1 para aceptar."
    assert (
        screen_who(preferred_name="Sam", relation="family", ambiguous=False, lang="es")
        == "familiar de Sam"
    )
    assert (
        screen_who(preferred_name=None, relation=None, ambiguous=False, lang="es")
        == "una persona desconocida"
    )


def test_a_caller_gone_on_the_language_menu_is_handed_to_level_1():
    assert sms_handoff_level(PLAN, set(), 0) == 1


def test_voicemail_alert_is_a_link():
    assert voicemail_alert(
        contact_id=7, from_number="+12015550150", recording_url="https://x/RE1", lang="en"
    ) == ("#7 voicemail from +12015550150: https://x/RE1")


def test_first_dial_is_level_1_or_straight_to_the_fallback():
    assert first_dial(PLAN, voicemail_enabled=True).kind == STAFF
    only_fallback = (fallback_level(1, "+19085550111"),)
    step = first_dial(only_fallback, voicemail_enabled=True)
    assert (step.kind, step.level, step.number) == (FALLBACK, 1, "+19085550111")
