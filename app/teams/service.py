"""Teams and staff: validation that the API and the CSV import share."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

import rotas
from app.auth.service import Principal, audit_row
from app.clients.models import Client, ClientPhone
from app.db import per_transaction
from app.errors import Conflict, Invalid
from app.escalation import notify_rules
from app.i18n import SOURCE_LANGUAGE, check_language, check_languages
from app.oncall.models import Rota, RotaOverride
from app.routing import parse_policy, validate_working_hours
from app.routing.availability import DEACTIVATED
from app.routing.availability import unreachable_reason as availability_reason
from app.teams.models import (
    DEFAULT_AUTO_REPLY,
    DEFAULT_FALLBACK_TEXT,
    DEFAULT_PRIORITY_WORDS_ES,
    TEAM_TEXTS,
    Leave,
    Staff,
    StaffRole,
    Team,
)
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
        loc = ["body", *_loc_parts(where)] if sep else ["body", "escalation_policy"]
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


def _line_taken(session: Session, number: str, team_id: int | None) -> bool:
    query = select(col(Team.id)).where(col(Team.crisis_line_number) == number)
    if team_id is not None:
        query = query.where(col(Team.id) != team_id)
    return session.execute(query).first() is not None


def create_team(*, session: Session, data: dict) -> Team:
    check_timezone(data["timezone"])
    region = data.get("region", "US")
    line = parse_phone(data["crisis_line_number"], region, "crisis_line_number")
    fallback = check_fallback_number(data["fallback_number"], region)
    check_caller_text(data.get("auto_reply_text"), "auto_reply_text")
    check_caller_text(data.get("fallback_text"), "fallback_text")
    if staff_with_phone(session=session, number=line) is not None:
        raise Invalid(
            "crisis_line_number", "is a staff member's phone; a crisis line must be its own number"
        )
    if _line_taken(session, line, None):
        raise Conflict(
            f"crisis line {line} already belongs to another team: a line selects exactly one team"
        )
    languages = check_team_languages(data, None)
    values = {k: v for k, v in data.items() if v is not None}
    values.update(crisis_line_number=line, fallback_number=fallback)
    values.pop("priority_words_by_language", None)
    values.pop("custom_texts", None)
    values.update(languages)
    if values.get("priority_notify_minimum") is not None:
        values["priority_notify_minimum"] = check_notify_rules(
            values["priority_notify_minimum"],
            ack_timeout_seconds=min(
                values.get("priority_ack_timeout_seconds", 120),
                values.get("ack_timeout_seconds", 300),
            ),
            field="priority_notify_minimum",
        )
    values.setdefault("auto_reply_text", DEFAULT_AUTO_REPLY)
    values.setdefault("fallback_text", DEFAULT_FALLBACK_TEXT)
    team = Team(**values)
    try:
        # Two creates racing for one line: the unique index decides, and the
        # loser hears 409 like the sequential case (not a 500).
        with session.begin_nested():
            session.add(team)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"crisis line {line} already belongs to another team: a line selects exactly one team"
        ) from None
    return team


def update_team(*, session: Session, team: Team, data: dict) -> Team:
    if "timezone" in data:
        check_timezone(data["timezone"])
    if "fallback_number" in data:
        data["fallback_number"] = check_fallback_number(data["fallback_number"], team.region)
    check_caller_text(data.get("auto_reply_text"), "auto_reply_text")
    check_caller_text(data.get("fallback_text"), "fallback_text")
    if "ack_timeout_seconds" in data:
        _check_rules_fit_timeout(session, team, data["ack_timeout_seconds"])
    if data.get("priority_notify_minimum") is not None:
        data["priority_notify_minimum"] = check_notify_rules(
            data["priority_notify_minimum"],
            ack_timeout_seconds=min(
                data.get("priority_ack_timeout_seconds", team.priority_ack_timeout_seconds),
                data.get("ack_timeout_seconds", team.ack_timeout_seconds),
            ),
            field="priority_notify_minimum",
        )
    if "escalation_policy" in data:
        check_escalation_policy(session, team, data["escalation_policy"])
    languages = check_team_languages(data, team)
    data = {
        k: v
        for k, v in data.items()
        if k not in ("priority_words_by_language", "custom_texts", "languages", "default_language")
    }
    data.update(languages)
    for key, value in data.items():
        setattr(team, key, value)
    session.add(team)
    return team


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
        raise Invalid(["body", *_loc_parts(where)], why) from None


def _check_rules_fit_timeout(session: Session, team: Team, ack_timeout_seconds: int) -> None:
    """A shorter acknowledgement timeout must leave every person's rules room to fire."""
    for staff in session.execute(select(Staff).where(col(Staff.team_id) == team.id)).scalars():
        latest = max(rule.after_seconds for rule in notify_rules.parse(staff.notify_rules))
        if latest >= ack_timeout_seconds:
            raise Invalid(
                "ack_timeout_seconds",
                f"staff {staff.id} has a notification rule at {latest} s; the timeout must be "
                "longer than every rule (change their notify_rules first)",
            )


def staff_with_phone(*, session: Session, number: str) -> Staff | None:
    return session.execute(select(Staff).where(col(Staff.phone) == number)).scalars().first()


def check_working_hours(value) -> list[dict]:
    """The routing engine's own parser decides (so nothing is stored that it
    would later refuse); its ValueError names the field, e.g. working_hours[0].start."""
    try:
        return validate_working_hours([dict(w) for w in value or []])
    except ValueError as exc:
        message = str(exc)
        where, sep, why = message.partition(": ")
        loc = (
            ["body", *_loc_parts(where)]
            if sep and where.startswith("working_hours")
            else ["body", "working_hours"]
        )
        raise Invalid(loc, why if sep else message) from None


def _loc_parts(where: str) -> list:
    """`working_hours[0].start` → ["working_hours", 0, "start"]."""
    parts: list = []
    for piece in where.split("."):
        name, _, rest = piece.partition("[")
        parts.append(name)
        if rest:
            parts.append(int(rest.rstrip("]")) if rest.rstrip("]").isdigit() else rest.rstrip("]"))
    return parts


def _check_staff_phone(session: Session, team: Team, phone: str, staff_id: int | None) -> None:
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


def create_staff(*, session: Session, team: Team, data: dict) -> Staff:
    phone = parse_phone(data["phone"], team.region, "phone")
    hours = check_working_hours(data.get("working_hours"))
    rules = check_notify_rules(
        data.get("notify_rules"), ack_timeout_seconds=team.ack_timeout_seconds
    )
    _check_staff_phone(session, team, phone, None)
    staff = Staff(
        team_id=team.id,
        name=data["name"],
        phone=phone,
        role=data["role"],
        working_hours=hours,
        **check_staff_languages(data, new=True),
        notify_rules=rules,
    )
    session.add(staff)
    session.flush()
    return staff


def what_holds(*, session: Session, staff: Staff, now: datetime) -> list[str]:
    """What must move before this person can be deactivated."""
    blockers = []
    for client in session.execute(
        select(Client).where(
            col(Client.status) == "active",
            or_(
                col(Client.assigned_case_manager_id) == staff.id,
                col(Client.backup_case_manager_id) == staff.id,
            ),
        )
    ).scalars():
        role = "assigned" if client.assigned_case_manager_id == staff.id else "backup"
        blockers.append(f"client {client.id} ({role} case manager)")
    for rota in session.execute(select(Rota).where(col(Rota.team_id) == staff.team_id)).scalars():
        if any(staff.id in layer.get("participants", []) for layer in rota.layers):
            blockers.append(f"rota {rota.id} ({rota.name})")
    for override in session.execute(
        select(RotaOverride).where(
            col(RotaOverride.staff_id) == staff.id, col(RotaOverride.end) > now
        )
    ).scalars():
        blockers.append(f"override {override.id} on rota {override.rota_id}")
    return blockers


def update_staff(*, session: Session, staff: Staff, team: Team, data: dict, now: datetime) -> Staff:
    if "phone" in data:
        data["phone"] = parse_phone(data["phone"], team.region, "phone")
        if data["phone"] != staff.phone:
            _check_staff_phone(session, team, data["phone"], staff.id)
    if "working_hours" in data:
        data["working_hours"] = check_working_hours(data["working_hours"])
    data.update(check_staff_languages(data))
    for key in ("language", "languages_spoken"):
        if key in data and data[key] is None:
            del data[key]
    if "notify_rules" in data:
        data["notify_rules"] = check_notify_rules(
            data["notify_rules"], ack_timeout_seconds=team.ack_timeout_seconds
        )
    if data.get("active") is False and staff.active:
        blockers = what_holds(session=session, staff=staff, now=now)
        if blockers:
            raise Conflict({"message": "move these first, then deactivate", "blocking": blockers})
    if (
        data.get("role", staff.role) != StaffRole.CASE_MANAGER
        and staff.role == StaffRole.CASE_MANAGER
    ):
        # Clients' assigned/backup case managers must be case managers.
        clients = [
            b for b in what_holds(session=session, staff=staff, now=now) if b.startswith("client ")
        ]
        if clients:
            raise Conflict(
                {
                    "message": "reassign these clients first, then change the role",
                    "blocking": clients,
                }
            )
    for key, value in data.items():
        setattr(staff, key, value)
    session.add(staff)
    return staff


def add_leave(
    *,
    session: Session,
    principal: Principal,
    staff: Staff,
    start: datetime,
    end: datetime,
    reason: str | None,
) -> Leave:
    """A leave period for `staff` (checked and audited, for the API and the
    console alike); the caller commits."""
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise Invalid(name, "must include a UTC offset")
    if end <= start:
        raise Invalid("end", "must be after start")
    leave = Leave(staff_id=staff.id, start=start, end=end, reason=reason)
    session.add(leave)
    session.flush()
    audit_row(session, principal, "leave.create", leave, team_id=staff.team_id)
    return leave


def team_staff(*, session: Session, team_id: int) -> list[Staff]:
    """The team's staff rows, read once per transaction (routing a text asks
    for them three times: is the sender staff, who can be reached, who
    supervises); the rows are the session's own, so changes made in the
    transaction show."""
    return per_transaction(
        session,
        "team_staff",
        team_id,
        lambda: list(session.execute(select(Staff).where(col(Staff.team_id) == team_id)).scalars()),
    )


def active_supervisors(*, session: Session, team_id: int) -> list[Staff]:
    """Who is told when something needs a supervisor: the team's active supervisors."""
    return [
        s
        for s in team_staff(session=session, team_id=team_id)
        if s.role == StaffRole.SUPERVISOR and s.active
    ]


def leave_now(
    *, session: Session, team_id: int, now: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Staff id -> their leave covering `now`, for the team's staff; read once
    per transaction and `now` (routing and reachability both ask)."""

    def load() -> dict[int, list[tuple[datetime, datetime]]]:
        leaves: dict[int, list[tuple[datetime, datetime]]] = {}
        ids = [s.id for s in team_staff(session=session, team_id=team_id)]
        if ids:
            for staff_id, start, end in session.execute(
                select(col(Leave.staff_id), col(Leave.start), col(Leave.end)).where(
                    col(Leave.staff_id).in_(ids), col(Leave.start) <= now, col(Leave.end) > now
                )
            ):
                leaves.setdefault(staff_id, []).append((start, end))
        return leaves

    return per_transaction(session, "leave_now", (team_id, now), load)


def has_call_rule(staff: Staff) -> bool:
    """Whether a notification rule calls this person (so SMS consent is not
    their only way in): app.escalation.notify_rules, the default included."""
    return notify_rules.has_call(staff.notify_rules)


def unreachable_reason(
    *, session: Session, staff: Staff | None, now: datetime, needs_sms: bool = True
) -> str | None:
    """Why this staff member cannot be reached now (None: they can): the
    stored rows fed to app.routing.availability.unreachable_reason, the one
    definition of reachable."""
    if staff is None:
        return DEACTIVATED
    return availability_reason(
        active=staff.active,
        on_leave=bool(leave_now(session=session, team_id=staff.team_id, now=now).get(staff.id)),
        sms_ok=not staff.sms_opted_out,
        call_rule=has_call_rule(staff),
        needs_sms=needs_sms,
    )
