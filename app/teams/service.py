"""Teams and staff: creating and changing them (their fields checked in
app.teams.checks), leave, and the staff queries other domains use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.auth.service import Principal, audit_row
from app.clients.models import Client
from app.db import per_transaction
from app.errors import Conflict, Invalid
from app.escalation import notify_rules
from app.oncall.models import Rota, RotaOverride
from app.routing.availability import DEACTIVATED
from app.routing.availability import unreachable_reason as availability_reason
from app.teams.checks import (
    check_caller_text,
    check_escalation_policy,
    check_fallback_number,
    check_notify_rules,
    check_rules_fit_timeout,
    check_staff_languages,
    check_staff_phone,
    check_team_languages,
    check_timezone,
    check_working_hours,
)
from app.teams.models import (
    DEFAULT_AUTO_REPLY,
    DEFAULT_FALLBACK_TEXT,
    Leave,
    Staff,
    StaffRole,
    Team,
)
from app.teams.phones import parse_phone


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
        check_rules_fit_timeout(session, team, data["ack_timeout_seconds"])
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


def staff_with_phone(*, session: Session, number: str) -> Staff | None:
    return session.execute(select(Staff).where(col(Staff.phone) == number)).scalars().first()


def create_staff(*, session: Session, team: Team, data: dict) -> Staff:
    phone = parse_phone(data["phone"], team.region, "phone")
    hours = check_working_hours(data.get("working_hours"))
    rules = check_notify_rules(
        data.get("notify_rules"), ack_timeout_seconds=team.ack_timeout_seconds
    )
    check_staff_phone(session, team, phone, None)
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
            check_staff_phone(session, team, data["phone"], staff.id)
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
