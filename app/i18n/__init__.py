"""Every word the service sends or speaks comes from gettext catalogs.

English is the source language: a message id is the English text itself, so
English needs no catalog and an id missing from another catalog would fall
back to English (tests/i18n refuses that: every catalog is complete).
Catalogs live in `locales/<lang>/LC_MESSAGES/messages.po`, managed with
Babel (see the README's "Languages"); they are compiled in memory from the
.po files the first time a language is used, so no compiled binary is
committed or can go stale.

Lookups are explicit: `_(language, "We got your message.")` with the
language of the person who reads it (the contact's, or the staff member's).
There is no ambient "current language".
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from app.errors import Invalid

SOURCE_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"

# What <Say> needs for each language: Twilio's `language` and a voice that
# Twilio lists for it (Amazon Polly through Twilio). A language without an
# entry here cannot be offered by voice.
SPEECH = {
    "en": ("en-US", "Polly.Joanna"),
    "es": ("es-US", "Polly.Lupe"),
}

# What a caller presses to choose a language on the greeting's menu.
MENU_DIGITS = {"en": "1", "es": "2"}


def N_(message: str) -> str:
    """Marks a text for extraction where it is defined; it is translated
    where it is used, with `_(language, THE_CONSTANT)`."""
    return message


def catalog_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def languages() -> tuple[str, ...]:
    """The languages the service can write in: English and every catalog."""
    found = sorted(p.parent.parent.name for p in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *(lang for lang in found if lang != SOURCE_LANGUAGE))


@cache
def translations(language: str) -> gettext.NullTranslations:
    if language == SOURCE_LANGUAGE or language not in languages():
        return gettext.NullTranslations()
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _(language: str | None, message: str) -> str:
    """`message` (an English message id) in `language`; English for None."""
    return translations(language or SOURCE_LANGUAGE).gettext(message)


def normalise(value: str) -> str:
    """A BCP 47 tag as stored: the primary language subtag, lower case
    (`es-US` and `ES` are `es`): catalogs are per language, not per region."""
    return value.strip().replace("_", "-").split("-")[0].lower()


def is_supported(value: str) -> bool:
    return normalise(value) in languages()


def check_language(value: str, field: str | list) -> str:
    """A language as stored, or 422 naming `field` when the service has no
    catalog for it."""
    language = normalise(value) if isinstance(value, str) else ""
    if language not in languages():
        raise Invalid(
            field,
            f"{value!r} is not a language this service writes in (one of: "
            f"{', '.join(languages())})",
        )
    return language


def check_languages(values: list[str], field: str) -> list[str]:
    """A list of languages, each checked, in order, once each."""
    checked: list[str] = []
    for i, value in enumerate(values):
        language = check_language(value, ["body", field, i])
        if language not in checked:
            checked.append(language)
    return checked
