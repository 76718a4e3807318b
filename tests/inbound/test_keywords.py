"""Carrier keywords and staff commands, parsed purely (app.inbound.keywords).
Fast enough for a mutation run to use on every mutant of the module."""

from __future__ import annotations

import pytest

from app.inbound.keywords import (
    HELP,
    MAX_CONTACT_ID,
    OPT_IN,
    OPT_OUT,
    STAFF_COMMANDS,
    Keyword,
    has_priority_words,
    keyword,
    parse_staff_reply,
)


def test_twilios_default_lists():
    assert {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"} <= OPT_OUT
    assert {"START", "YES", "UNSTOP"} == OPT_IN
    assert {"HELP", "INFO"} == HELP
    assert {"ACK", "PASS", "DONE", "WHO", "HELP", "KEEP"} == STAFF_COMMANDS


@pytest.mark.parametrize(
    "body, expected",
    [
        ("STOP", Keyword.OPT_OUT),
        ("stop", Keyword.OPT_OUT),
        ("  Stop \n", Keyword.OPT_OUT),
        ("Stop.", Keyword.OPT_OUT),
        ("stop!", Keyword.OPT_OUT),
        ("unsubscribe", Keyword.OPT_OUT),
        ("Yes", Keyword.OPT_IN),
        ("start", Keyword.OPT_IN),
        ("UNSTOP", Keyword.OPT_IN),
        ("help", Keyword.HELP),
        ("Info", Keyword.HELP),
        ("stop it", None),
        ("please stop", None),
        ("yes please", None),
        ("", None),
        ("hello", None),
        ("st op", None),
        ("XSTOP", None),
    ],
)
def test_only_a_single_word_is_a_keyword(body, expected):
    assert keyword(body) == expected


def test_the_lines_own_lists_replace_the_defaults():
    assert keyword("stop", opt_out=frozenset({"ARRET"}), opt_in=frozenset()) is None
    assert keyword("arret", opt_out=frozenset({"ARRET"}), opt_in=frozenset()) == Keyword.OPT_OUT
    assert keyword("oui", opt_out=frozenset(), opt_in=frozenset({"OUI"})) == Keyword.OPT_IN
    assert keyword("yes", opt_out=frozenset(), opt_in=frozenset({"OUI"})) is None
    # A word on both lists blocks: opting out wins.
    both = frozenset({"YES"})
    assert keyword("yes", opt_out=both, opt_in=both) == Keyword.OPT_OUT
    # HELP is the carrier's whatever the lists say.
    assert keyword("help", opt_out=frozenset(), opt_in=frozenset()) == Keyword.HELP


@pytest.mark.parametrize(
    "body, contact_id, command, text",
    [
        ("ACK", None, "ACK", ""),
        ("  ack. ", None, "ACK", ""),
        ("pass!", None, "PASS", ""),
        ("Done", None, "DONE", ""),
        ("keep", None, "KEEP", ""),
        ("who", None, "WHO", ""),
        ("HELP", None, "HELP", ""),
        ("#12 ACK", 12, "ACK", ""),
        ("#12: done", 12, "DONE", ""),
        ("#12, PASS", 12, "PASS", ""),
        ("#12-keep", 12, "KEEP", ""),
        ("  #7   On my way  ", 7, None, "On my way"),
        ("#7 line one\nline two", 7, None, "line one\nline two"),
        ("#12abc", None, None, "#12abc"),
        ("On my way", None, None, "On my way"),
        ("ack please", None, None, "ack please"),
        ("Yes", None, None, "Yes"),
        ("STOP", None, None, "STOP"),
        # Only dots and exclamation marks are trimmed from a command.
        ("XDONE", None, None, "XDONE"),
    ],
)
def test_a_staff_reply_is_an_address_a_command_and_words(body, contact_id, command, text):
    reply = parse_staff_reply(body)
    assert (reply.contact_id, reply.command, reply.text, reply.bad_ref) == (
        contact_id,
        command,
        text,
        None,
    )


def test_a_reference_that_cannot_be_a_contact_id_is_shown_back_shortened():
    assert parse_staff_reply(f"#{MAX_CONTACT_ID} hi").contact_id == MAX_CONTACT_ID
    too_big = parse_staff_reply(f"#{MAX_CONTACT_ID + 1} hi")
    assert (too_big.contact_id, too_big.bad_ref, too_big.text) == (None, "2147483648", "hi")
    eleven = parse_staff_reply("#12345678901 ACK")
    assert (eleven.contact_id, eleven.bad_ref, eleven.command) == (None, "12345678901", "ACK")
    twelve = parse_staff_reply("#123456789012 x")
    assert twelve.bad_ref == "123456789012"
    thirteen = parse_staff_reply("#1234567890123 x")
    assert thirteen.bad_ref == "123456789012..."
    long = parse_staff_reply("#" + "9" * 5000 + " x")
    assert long.bad_ref == "9" * 12 + "..."
    ten = parse_staff_reply("#0000000012 x")
    assert (ten.contact_id, ten.bad_ref) == (12, None)


@pytest.mark.parametrize(
    "body, words, expected",
    [
        ("I want to kill myself", ["kill myself"], True),
        ("KILL MYSELF", ["kill myself"], True),
        ("I want to kill myself", ["  Kill Myself  "], True),
        ("pills", ["pills"], True),
        ("the pills.", ["pills"], True),
        ("spills", ["pills"], False),
        ("pillsbury", ["pills"], False),
        ("nothing here", ["pills", "gun"], False),
        ("a gun", ["pills", "gun"], True),
        ("anything", ["", "  "], False),
        ("c++ rocks", ["c++"], True),
        ("cxx rocks", ["c++"], False),
        ("anything", [], False),
    ],
)
def test_priority_words_match_whole_words_in_any_case(body, words, expected):
    assert has_priority_words(body, words) is expected
