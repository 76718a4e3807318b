"""Checks of a team's and a staff member's fields, shared by the API, the
console and the CSV import: each answers the value as stored, or raises 422
(`Invalid`) naming the field at fault, or 409 (`Conflict`) for a clash with
another record."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlmodel import Session, col

import rotas
from app.clients.models import Client, ClientPhone
from app.errors import Conflict, Invalid
from app.escalation import notify_rules
from app.i18n import SOURCE_LANGUAGE, check_language, check_languages
from app.oncall.models import Rota
from app.routing import parse_policy, validate_working_hours
from app.teams.models import DEFAULT_PRIORITY_WORDS_ES, TEAM_TEXTS, Staff, Team
from app.teams.phones import parse_phone

EMERGENCY_NUMBERS = ("911", "988")


# Short codes a fallback may be (the US emergency and crisis lines). Any other
# fallback must be a full phone number: a typo such as "000" (Australia's
# emergency number, nothing in the US) would leave the last step dialling nowhere.
FALLBACK_SHORT_CODES = ("988", "911")


def check_timezone(value: str, field: str = "timezone") -> str:
    try:
        ZoneInfo(value)
        rotas.Schedule(timezone=value, layers=())
    except (ZoneInfoNotFoundError, ValueError, TypeError, rotas.RotaError):
        raise Invalid(
            field, f"{value!r} is not an IANA time zone (e.g. America/New_York)"
        ) from None
    return value


def check_caller_text(value: str | None, field: str | list) -> None:
    """Every message a person in crisis may read must tell them where to turn."""
    if value is not None and not all(n in value for n in EMERGENCY_NUMBERS):
        raise Invalid(field, "must mention both 911 and 988")


def check_staff_languages(data: dict, *, new: bool = False) -> dict:
    """`language` and `languages_spoken` as stored, when given; 422 naming
    the field for a language without a catalog. Someone new given a
    language and no spoken ones speaks the language they are sent."""
    checked: dict[str, Any] = {}
    if data.get("language") is not None:
        checked["language"] = check_language(data["language"], "language")
    if data.get("languages_spoken") is not None:
        checked["languages_spoken"] = check_languages(data["languages_spoken"], "languages_spoken")
    elif new and "language" in checked:
        checked["languages_spoken"] = [checked["language"]]
    return checked


def check_team_languages(data: dict, team: Team | None) -> dict:
    """The language fields of a team create or update, checked, as stored:
    `default_language` among `languages`; custom texts and priority words
    only for languages with catalogs; every custom text a client reads
    naming 911 and 988. English custom texts and priority words are the
    team's top-level fields: `custom_texts.en` and
    `priority_words_by_language.en` are written there."""
    out: dict = {}
    languages = list(team.languages) if team is not None else ["en"]
    if data.get("languages") is not None:
        languages = check_languages(data["languages"], "languages")
        if not languages:
            raise Invalid("languages", "must offer at least one language")
        out["languages"] = languages
    default = team.default_language if team is not None else "en"
    if data.get("default_language") is not None:
        default = check_language(data["default_language"], "default_language")
        out["default_language"] = default
    if default not in languages:
        if data.get("languages") is None and team is None:
            languages = [default, *languages]
            out["languages"] = languages
        else:
            raise Invalid(
                "default_language", f"{default!r} must be one of the team's languages {languages}"
            )
    if data.get("custom_texts") is not None:
        custom = {}
        for raw_lang, texts in data["custom_texts"].items():
            lang = check_language(raw_lang, ["body", "custom_texts", raw_lang])
            for field, text in (texts or {}).items():
                where = ["body", "custom_texts", raw_lang, field]
                if field not in TEAM_TEXTS:
                    raise Invalid(where, f"is not a team text (one of: {', '.join(TEAM_TEXTS)})")
                if text is not None and len(text) > 640:
                    raise Invalid(where, "must be at most 640 characters")
                if field != "voice_greeting":
                    check_caller_text(text, where)
            if lang == SOURCE_LANGUAGE:
                for field, text in (texts or {}).items():
                    out[field] = text if text is not None else TEAM_TEXTS[field]
            else:
                custom[lang] = {f: t for f, t in (texts or {}).items() if t}
        merged = dict(team.custom_texts) if team is not None else {}
        merged.update(custom)
        out["custom_texts"] = {lang: texts for lang, texts in merged.items() if texts}
    if data.get("priority_words_by_language") is not None:
        words = (
            dict(team.priority_words_by_language)
            if team is not None
            else {"es": list(DEFAULT_PRIORITY_WORDS_ES)}
        )
        for raw_lang, listed in data["priority_words_by_language"].items():
            lang = check_language(raw_lang, ["body", "priority_words_by_language", raw_lang])
            cleaned = [w.strip() for w in listed if w and w.strip()]
            if lang == SOURCE_LANGUAGE:
                out["priority_words"] = cleaned
            else:
                words[lang] = cleaned
        out["priority_words_by_language"] = words
    return out


def check_fallback_number(value: str, region: str) -> str:
    """A fallback is an allow-listed short code or a valid phone number (E.164 out)."""
    raw = value.strip()
    if raw in FALLBACK_SHORT_CODES:
        return raw
    if raw.isdigit() and len(raw) <= 6:
        raise Invalid(
            "fallback_number",
            f"{raw!r} is not an allowed short code ({', '.join(FALLBACK_SHORT_CODES)}) "
            "nor a full phone number",
        )
    return parse_phone(raw, region, "fallback_number")


def check_escalation_policy(session: Session, team: Team, policy) -> None:
    """A policy's shape (the routing engine's parser decides), and every staff
    member and rota it names belongs to this team: another team's person would
    be paged for a client they may not see, another team's rota would route
    by someone else's schedule."""
    try:
        levels = parse_policy(policy)
    except ValueError as exc:
        where, sep, why = str(exc).partition(": ")
        loc = ["body", *loc_parts(where)] if sep else ["body", "escalation_policy"]
        raise Invalid(loc, why if sep else str(exc)) from None
    for i, level in enumerate(levels or ()):
        for j, target in enumerate(level.targets):
            loc = ["body", "escalation_policy", i, "targets", j]
            if target.kind == "staff":
                staff = session.get(Staff, target.id)
                if staff is None or staff.team_id != team.id:
                    raise Invalid(loc, f"staff {target.id} is not a member of this team")
            elif target.kind == "rota":
                rota = session.get(Rota, target.id)
                if rota is None or rota.team_id != team.id:
                    raise Invalid(loc, f"rota {target.id} is not one of this team's rotas")


def check_not_a_crisis_line(session: Session, phone: str, field: str | list = "phone") -> None:
    """A staff phone that is a crisis line would have the line page itself and
    its replies read as staff commands."""
    if session.execute(select(col(Team.id)).where(col(Team.crisis_line_number) == phone)).first():
        raise Invalid(field, "is a crisis line number; a staff phone must be the person's own")


def check_notify_rules(
    rules, *, ack_timeout_seconds: int, field: str = "notify_rules"
) -> list[dict] | None:
    """Rules as stored, or 422 naming the rule at fault (e.g. notify_rules[1].after_seconds)."""
    if rules is None:
        return None
    try:
        return notify_rules.validate(
            [dict(r) for r in rules], ack_timeout_seconds=ack_timeout_seconds, field=field
        )
    except ValueError as exc:
        where, _, why = str(exc).partition(": ")
        raise Invalid(["body", *loc_parts(where)], why) from None


def check_rules_fit_timeout(session: Session, team: Team, ack_timeout_seconds: int) -> None:
    """A shorter acknowledgement timeout must leave every person's rules room to fire."""
    for staff in session.execute(select(Staff).where(col(Staff.team_id) == team.id)).scalars():
        latest = max(rule.after_seconds for rule in notify_rules.parse(staff.notify_rules))
        if latest >= ack_timeout_seconds:
            raise Invalid(
                "ack_timeout_seconds",
                f"staff {staff.id} has a notification rule at {latest} s; the timeout must be "
                "longer than every rule (change their notify_rules first)",
            )


def check_working_hours(value) -> list[dict]:
    """The routing engine's own parser decides (so nothing is stored that it
    would later refuse); its ValueError names the field, e.g. working_hours[0].start."""
    try:
        return validate_working_hours([dict(w) for w in value or []])
    except ValueError as exc:
        message = str(exc)
        where, sep, why = message.partition(": ")
        loc = (
            ["body", *loc_parts(where)]
            if sep and where.startswith("working_hours")
            else ["body", "working_hours"]
        )
        raise Invalid(loc, why if sep else message) from None


def loc_parts(where: str) -> list:
    """`working_hours[0].start` → ["working_hours", 0, "start"]."""
    parts: list = []
    for piece in where.split("."):
        name, _, rest = piece.partition("[")
        parts.append(name)
        if rest:
            parts.append(int(rest.rstrip("]")) if rest.rstrip("]").isdigit() else rest.rstrip("]"))
    return parts


def check_staff_phone(session: Session, team: Team, phone: str, staff_id: int | None) -> None:
    check_not_a_crisis_line(session, phone)
    query = select(col(Staff.id)).where(col(Staff.team_id) == team.id, col(Staff.phone) == phone)
    if staff_id is not None:
        query = query.where(col(Staff.id) != staff_id)
    if session.execute(query).first():
        raise Conflict(f"a staff member of this team already has the phone {phone}")
    if session.execute(
        select(col(ClientPhone.id))
        .join(Client, col(Client.id) == col(ClientPhone.client_id))
        .where(col(ClientPhone.number) == phone, col(Client.team_id) == team.id)
    ).first():
        raise Conflict(
            "this phone is registered for a client of this team; a staff phone must be their own"
        )
