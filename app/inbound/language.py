"""Which language a caller is answered in, and how a text changes it.

A number's language, first that applies: what the person at that number
chose or wrote in before (remembered per team and number), the phone's
recorded language, the client's, the team's default. A text switches the
conversation when it asks (`ESPAÑOL`, `SPANISH`, `ENGLISH`) or when a
language-identification model is confident it is written in another
language the service has catalogs for; the switch is remembered for the
number. A short text never switches: "ok", "si", "no" say nothing reliable.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from app import i18n
from app.clients.models import Client, ClientPhone
from app.contacts.models import NumberLanguage
from app.teams.models import Team

if TYPE_CHECKING:
    from lingua import LanguageDetector

if TYPE_CHECKING:
    from lingua import LanguageDetector

if TYPE_CHECKING:
    from lingua import LanguageDetector

if TYPE_CHECKING:
    from lingua import LanguageDetector

# A one-word text that asks for a language (compared without accents).
REQUEST_WORDS = {
    "ESPANOL": "es",
    "SPANISH": "es",
    "ENGLISH": "en",
    "INGLES": "en",
}
MIN_WORDS_TO_DETECT = 3
MIN_CONFIDENCE = 0.9


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def requested_language(body: str) -> str | None:
    """`ESPAÑOL` (or Espanol, spanish, …) alone: the language it asks for."""
    word = _plain(body).strip().strip(".!¡").upper()
    language = REQUEST_WORDS.get(word)
    return language if language in i18n.languages() else None


@cache
def _detector() -> LanguageDetector:
    # Only the languages with catalogs are loaded: the model answers "which
    # of these", and a two-language model is small and quick.
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [IsoCode639_1.from_str(code) for code in i18n.languages()]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def warm_up() -> None:
    """Load the model now (it loads on first use otherwise)."""
    _detector().compute_language_confidence_values("necesito ayuda por favor")


def detected_language(body: str) -> str | None:
    """The language a text is written in, only when the model is confident
    and the text has at least a few words; None otherwise."""
    if len(body.split()) < MIN_WORDS_TO_DETECT:
        return None
    values = _detector().compute_language_confidence_values(body)
    if not values or values[0].value < MIN_CONFIDENCE:
        return None
    code: str = values[0].language.iso_code_639_1.name
    return code.lower()


def language_of_text(body: str) -> tuple[str, str] | None:
    """(language, how) a text asks for or is written in: how is
    "requested" or "detected"."""
    requested = requested_language(body)
    if requested:
        return requested, "requested"
    detected = detected_language(body)
    return (detected, "detected") if detected else None


def known_language(
    *, session: Session, team_id: int, number: str, client_id: int | None
) -> str | None:
    """The language the line knows for `number`, if any: remembered, then
    the phone's, then the client's."""
    remembered: str | None = session.execute(
        select(col(NumberLanguage.language)).where(
            col(NumberLanguage.team_id) == team_id, col(NumberLanguage.number) == number
        )
    ).scalar()
    if remembered:
        return remembered
    if client_id is None:
        return None
    row = session.execute(
        select(col(ClientPhone.language), col(Client.language))
        .join(Client, col(Client.id) == col(ClientPhone.client_id))
        .where(col(ClientPhone.client_id) == client_id, col(ClientPhone.number) == number)
    ).first()
    return (row[0] or row[1]) if row else None


def number_language(*, session: Session, team: Team, number: str, client_id: int | None) -> str:
    """The language to answer `number` in (see the module's docstring)."""
    return (
        known_language(session=session, team_id=team.id, number=number, client_id=client_id)
        or team.default_language
    )


def menu_choices(team: Team) -> tuple[tuple[str, str], ...]:
    """(language, digit) the voice menu offers an unknown caller: every
    language the team offers besides its default that can be spoken."""
    return tuple(
        (lang, i18n.MENU_DIGITS[lang])
        for lang in team.languages or ()
        if lang != team.default_language and lang in i18n.MENU_DIGITS and lang in i18n.SPEECH
    )


def language_for_digit(team: Team, digits: str) -> str | None:
    return next((lang for lang, digit in menu_choices(team) if digit == digits), None)


def remember(*, session: Session, team_id: int, number: str, language: str, now: datetime) -> None:
    row = session.execute(
        select(NumberLanguage).where(
            col(NumberLanguage.team_id) == team_id, col(NumberLanguage.number) == number
        )
    ).scalar()
    if row is None:
        row = NumberLanguage(team_id=team_id, number=number, language=language, updated_at=now)
    else:
        row.language, row.updated_at = language, now
    session.add(row)


def priority_words(team: Team) -> list[str]:
    """Every language's list: a priority word raises priority whatever
    language the conversation is marked as."""
    words = list(team.priority_words)
    for more in (team.priority_words_by_language or {}).values():
        words.extend(more)
    return words
