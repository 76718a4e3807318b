"""The catalogs are complete: every text marked in app/ has a translation in
every language, with the same placeholders, and every text a client may
receive names 911 and 988 in every language.

The ids are extracted from the source here (not read from the .po files), so
a text someone adds without running `make messages` and translating it
fails this test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from hypothesis import given, settings

import app
from app import i18n
from app.messaging import texts
from app.routing import plan
from tests.routing.helpers import NOW
from tests.routing.test_plan_properties import contexts

APP_DIR = Path(app.__file__).parent
OTHER_LANGUAGES = [lang for lang in i18n.languages() if lang != i18n.SOURCE_LANGUAGE]
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _source_ids() -> set[str]:
    found = extract_from_dir(
        str(APP_DIR),
        method_map=[("**.py", "python")],
        keywords={"_": (2,), "N_": None},
        comment_tags=(),
        strip_comment_tags=True,
    )
    return {message for _file, _line, message, _comments, _context in found}


def _catalog(lang: str):
    with i18n.catalog_path(lang).open("rb") as po:
        return read_po(po, locale=lang)


def test_spanish_is_offered():
    assert i18n.languages() == ("en", "es")


def test_extraction_finds_the_texts():
    ids = _source_ids()
    # A sample from each kind of text: client SMS, voice, staff.
    assert texts.TEAM_TEXTS["auto_reply_text"] in ids
    assert "Crisis call for {who}. Press 1 to accept." in ids
    assert "#{id} passed to the next level." in ids
    assert len(ids) > 40


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_every_text_is_translated(lang):
    catalog = _catalog(lang)
    missing = sorted(
        msgid
        for msgid in _source_ids()
        if catalog.get(msgid) is None or not catalog.get(msgid).string
    )
    assert not missing, f"{lang}: no translation for {missing} (run `make messages`)"
    fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
    assert not fuzzy, f"{lang}: fuzzy (unchecked) translations {fuzzy}"


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_translations_keep_the_placeholders(lang):
    for message in _catalog(lang):
        if message.id and message.string:
            assert sorted(PLACEHOLDER.findall(message.string)) == sorted(
                PLACEHOLDER.findall(message.id)
            ), message.id


@pytest.mark.parametrize("lang", i18n.languages())
def test_every_client_text_names_911_and_988(lang):
    for name, text in texts.client_texts(lang).items():
        assert "911" in text and "988" in text, (lang, name, text)


def test_a_missing_translation_falls_back_to_english_and_the_test_sees_it():
    # What the completeness test guards against: gettext quietly answers in English.
    assert i18n._("es", "a text nobody translated") == "a text nobody translated"
    assert "a text nobody translated" not in _source_ids()


def test_spanish_is_really_spanish():
    auto_reply = texts.client_texts("es")["auto_reply"]
    assert auto_reply.startswith("Recibimos su mensaje.")
    assert texts.client_texts("en")["auto_reply"].startswith("We got your message.")


@settings(max_examples=200, deadline=None)
@given(contexts())
def test_every_level_label_the_planner_makes_is_translated(ctx):
    # Staff read a level's label in the skipped-level alert: each label (and
    # each part of a policy level's `A + B`) has its own translation.
    levels = plan(ctx, NOW)
    for label in [lv.label for lv in levels] + [s.label for s in getattr(levels, "skipped", ())]:
        for part in label.split(" + "):
            assert texts.level_label(part, "en") == part
            assert texts.level_label(part, "es") != part, part


def test_level_labels_in_spanish():
    assert texts.level_label("primary on-call + on-call (priority 3)", "es") == (
        "guardia principal + guardia (prioridad 3)"
    )
    assert texts.level_label("rota 7", "es") == "guardia 7"
    assert texts.level_label("a label nobody knows", "es") == "a label nobody knows"
