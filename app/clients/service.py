"""Clients, their phones, caseloads and versioned crisis plans."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.auth.service import Principal, audit, audit_row
from app.clients.models import PLAN_SECTIONS, Client, ClientPhone, CrisisPlan
from app.clients.plan_links import revoke_plan_links
from app.errors import Conflict, Invalid
from app.i18n import check_language
from app.teams.models import Staff, StaffRole, Team
from app.teams.phones import parse_phone


def caseload(*, session: Session, staff_id: int, excluding_client: int | None = None) -> int:
    query = (
        select(func.count())
        .select_from(Client)
        .where(col(Client.assigned_case_manager_id) == staff_id, col(Client.status) == "active")
    )
    if excluding_client is not None:
        query = query.where(col(Client.id) != excluding_client)
    return session.execute(query).scalar_one()


def _check_case_managers(
    session: Session, team: Team, assigned: int | None, backup: int | None, client_id: int | None
) -> None:
    for field, staff_id in (
        ("assigned_case_manager_id", assigned),
        ("backup_case_manager_id", backup),
    ):
        if staff_id is None:
            continue
        staff = session.get(Staff, staff_id)
        if staff is None or staff.team_id != team.id or not staff.active:
            raise Invalid(field, "is not an active staff member of this team")
        if staff.role != StaffRole.CASE_MANAGER:
            raise Invalid(field, f"staff {staff.id} is a {staff.role}, not a case manager")
    if assigned is not None and assigned == backup:
        raise Invalid("backup_case_manager_id", "must not be the assigned case manager")
    if assigned is not None:
        load = caseload(session=session, staff_id=assigned, excluding_client=client_id)
        if load >= team.caseload_limit:
            staff = session.get_one(Staff, assigned)
            raise Conflict(
                f"{staff.name} (staff {staff.id}) already has {load} active clients; "
                f"the team's caseload limit is {team.caseload_limit}"
            )


def _phones(session: Session, team: Team, phones: list[dict]) -> list[ClientPhone]:
    rows, seen = [], set()
    for i, phone in enumerate(phones):
        number = parse_phone(phone["number"], team.region, ["body", "phones", i, "number"])
        if number in seen:
            raise Invalid(["body", "phones", i, "number"], "is listed twice")
        seen.add(number)
        if session.execute(
            select(col(Staff.id)).where(col(Staff.team_id) == team.id, col(Staff.phone) == number)
        ).first():
            raise Conflict(
                f"phones[{i}]: {number} is a staff member's phone; texts from it are staff replies"
            )
        if number == team.crisis_line_number:
            raise Invalid(["body", "phones", i, "number"], "is the crisis line itself")
        language = phone.get("language")
        rows.append(
            # The caller sets client_id once the client is stored.
            ClientPhone(  # type: ignore[call-arg]
                number=number,
                relation=phone["relation"],
                name=phone.get("name"),
                language=check_language(language, ["body", "phones", i, "language"])
                if language is not None
                else None,
            )
        )
    return rows


def create_client(*, session: Session, team: Team, data: dict) -> Client:
    _check_case_managers(
        session,
        team,
        data.get("assigned_case_manager_id"),
        data.get("backup_case_manager_id"),
        None,
    )
    phones = _phones(session, team, data.get("phones") or [])
    language = data.get("language")
    client = Client(
        team_id=team.id,
        preferred_name=data["preferred_name"],
        language=check_language(language, "language") if language is not None else None,
        assigned_case_manager_id=data.get("assigned_case_manager_id"),
        backup_case_manager_id=data.get("backup_case_manager_id"),
    )
    session.add(client)
    session.flush()
    for phone in phones:
        phone.client_id = client.id
        session.add(phone)
    session.flush()
    return client


def update_client(*, session: Session, team: Team, client: Client, data: dict) -> Client:
    assigned = data.get("assigned_case_manager_id", client.assigned_case_manager_id)
    backup = data.get("backup_case_manager_id", client.backup_case_manager_id)
    if (
        {"assigned_case_manager_id", "backup_case_manager_id"} & data.keys()
        or data.get("status") == "active"
        and client.status != "active"
    ):
        _check_case_managers(session, team, assigned, backup, client.id)
    if data.get("language") is not None:
        data["language"] = check_language(data["language"], "language")
    if "phones" in data:
        phones = _phones(session, team, data.pop("phones") or [])
        for old in session.execute(
            select(ClientPhone).where(col(ClientPhone.client_id) == client.id)
        ).scalars():
            session.delete(old)
        session.flush()
        for phone in phones:
            phone.client_id = client.id
            session.add(phone)
    for key, value in data.items():
        setattr(client, key, value)
    session.add(client)
    session.flush()
    return client


def phones_out(*, session: Session, client: Client) -> list[dict]:
    phones = list(
        session.execute(
            select(ClientPhone)
            .where(col(ClientPhone.client_id) == client.id)
            .order_by(col(ClientPhone.id))
        ).scalars()
    )
    out = []
    for phone in phones:
        shared = session.execute(
            select(col(ClientPhone.client_id))
            .join(Client, col(Client.id) == col(ClientPhone.client_id))
            .where(
                ClientPhone.number == phone.number,
                col(Client.team_id) == client.team_id,
                col(Client.id) != client.id,
            )
        ).scalars()
        out.append(
            {
                "number": phone.number,
                "relation": phone.relation,
                "name": phone.name,
                "language": phone.language,
                "shared_with_client_ids": sorted(set(shared)),
            }
        )
    return out


def current_plan(*, session: Session, client_id: int) -> CrisisPlan | None:
    return (
        session.execute(
            select(CrisisPlan)
            .where(col(CrisisPlan.client_id) == client_id)
            .order_by(col(CrisisPlan.version).desc())
        )
        .scalars()
        .first()
    )


def save_plan(*, session: Session, client: Client, data: dict, actor: str) -> CrisisPlan:
    """A new version; older versions are kept as they were."""
    latest = current_plan(session=session, client_id=client.id)
    plan = CrisisPlan(
        client_id=client.id,
        version=(latest.version + 1) if latest else 1,
        created_by=actor,
        sections={name: [str(item) for item in data.get(name) or []] for name in PLAN_SECTIONS},
        notes=data.get("notes"),
        preferred_hospital=data.get("preferred_hospital"),
        advance_directive_notes=data.get("advance_directive_notes"),
    )
    session.add(plan)
    session.flush()
    return plan


def plan_out(plan: CrisisPlan) -> dict:
    return {
        **plan.sections,
        "notes": plan.notes,
        "preferred_hospital": plan.preferred_hospital,
        "advance_directive_notes": plan.advance_directive_notes,
        "client_id": plan.client_id,
        "version": plan.version,
        "created_by": plan.created_by,
        "created_at": plan.created_at,
    }


def clients_of(
    *,
    session: Session,
    team_id: int,
    where=None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Client]:
    query = select(Client).where(col(Client.team_id) == team_id)
    if where is not None:
        query = query.where(where)
    query = query.order_by(col(Client.id)).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


# ------------------------------------------------------------------
# The acts with their audit rows, shared by the API and the console.


def add_client(*, session: Session, principal: Principal, team: Team, data: dict) -> Client:
    client = create_client(session=session, team=team, data=data)
    audit_row(session, principal, "client.create", client, team_id=team.id)
    return client


def change_client(
    *, session: Session, principal: Principal, client: Client, data: dict, now: datetime
) -> Client:
    """Apply a checked PATCH's fields; a discharge revokes the client's plan links."""
    team = session.get_one(Team, client.team_id)
    fields = sorted(data)
    was_active = client.status == "active"
    update_client(session=session, team=team, client=client, data=data)
    detail: dict = {"fields": fields}
    if was_active and client.status == "discharged":
        # A discharged client's plan is no longer anyone's to open from a phone.
        detail["plan_links_revoked"] = revoke_plan_links(
            session=session, client_id=client.id, now=now
        )
    audit_row(session, principal, "client.update", client, team_id=client.team_id, detail=detail)
    return client


def write_plan(*, session: Session, principal: Principal, client: Client, data: dict) -> CrisisPlan:
    plan = save_plan(session=session, client=client, data=data, actor=principal.actor)
    audit_row(
        session,
        principal,
        "crisis_plan.write",
        plan,
        team_id=client.team_id,
        detail={"version": plan.version},
    )
    return plan


def plan_versions(*, session: Session, client_id: int) -> list[CrisisPlan]:
    return list(
        session.execute(
            select(CrisisPlan)
            .where(col(CrisisPlan.client_id) == client_id)
            .order_by(col(CrisisPlan.version))
        ).scalars()
    )


def audit_plan_read(
    *, session: Session, principal: Principal, client: Client, plan: CrisisPlan | None, via: str
) -> None:
    """Every read of a plan, whatever the path, is one `crisis_plan.read` row;
    `detail.via` says which (api, versions, plan_link, break_glass, console…)."""
    audit(
        session=session,
        principal=principal,
        action="crisis_plan.read",
        record_type="crisis_plan",
        record_id=plan.id if plan else None,
        team_id=client.team_id,
        detail={"client_id": client.id, "via": via, "version": plan.version if plan else None},
    )
