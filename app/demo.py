"""`crisisroute demo`: a demo team with staff, rotas and clients to try the flows on."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session, col

from app.auth.models import Role
from app.auth.service import CLI, audit_row, create_key
from app.clients.models import Client, ClientPhone, CrisisPlan
from app.oncall.models import Rota
from app.teams.models import Staff, StaffRole, Team

DEMO_LINE = "+19735550100"
DEMO_FALLBACK = "+19085550111"
DEMO_SUPERVISOR_PHONE = "+12015550180"
# Rosa writes in Spanish; Nia, on call, speaks it and reads her own texts in it.
DEMO_SPANISH_CLIENT_PHONE = "+12015550152"
DEMO_SPANISH_STAFF_PHONE = "+12015550184"
OFFICE = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}]


def ensure_dev_token(env_path: Path = Path(".env")) -> str | None:
    """Webhooks refuse unsigned requests even in development: give a fresh
    install a random local token (in .env) so `simulate` can sign."""
    if os.environ.get("TWILIO_AUTH_TOKEN"):
        return None
    text = env_path.read_text() if env_path.exists() else ""
    if "TWILIO_AUTH_TOKEN=" in text:
        return None
    token = "dev-" + secrets.token_hex(16)
    with env_path.open("a") as f:
        f.write(
            f"{'' if not text or text.endswith(chr(10)) else chr(10)}TWILIO_AUTH_TOKEN={token}\n"
        )
    return token


def seed(session: Session) -> tuple[Team, str | None]:
    team = (
        session.execute(select(Team).where(col(Team.crisis_line_number) == DEMO_LINE))
        .scalars()
        .first()
    )
    if team is not None:
        return team, None
    team = Team(
        name="Demo ICM Team",
        timezone="America/New_York",
        region="US",
        crisis_line_number=DEMO_LINE,
        fallback_number=DEMO_FALLBACK,
        # The demo offers Spanish so a new user can try it: a Spanish text is
        # answered in Spanish and pages the Spanish-speaking on-call person
        # first (after the client's own case managers).
        languages=["en", "es"],
        page_speakers_first=True,
    )
    session.add(team)
    session.flush()
    people = [
        ("Dana Supervisor", DEMO_SUPERVISOR_PHONE, StaffRole.SUPERVISOR, [], "en"),
        ("Casey Manager", "+12015550181", StaffRole.CASE_MANAGER, OFFICE, "en"),
        ("Bea Backup", "+12015550182", StaffRole.CASE_MANAGER, OFFICE, "en"),
        ("Owen Nights", "+12015550183", StaffRole.CASE_MANAGER, [], "en"),
        ("Nia Nights", DEMO_SPANISH_STAFF_PHONE, StaffRole.CASE_MANAGER, [], "es"),
    ]
    staff = []
    for name, phone, role, hours, language in people:
        row = Staff(
            team_id=team.id,
            name=name,
            phone=phone,
            role=role,
            working_hours=hours,
            language=language,
            languages_spoken=sorted({"en", language}),
        )
        session.add(row)
        staff.append(row)
    session.flush()
    supervisor, casey, bea, owen, nia = staff
    # Owen and Nia take turns a week at a time; each is the other's backup.
    for priority, (name, participants) in enumerate(
        [("Primary on-call", [owen.id, nia.id]), ("Backup on-call", [nia.id, owen.id])], start=1
    ):
        weekly = {
            "name": "weekly",
            "turn": {"unit": "weeks", "length": 1},
            "start": "2026-01-05T09:00",
            "participants": participants,
            "restrictions": [],
        }
        session.add(
            Rota(
                team_id=team.id,
                name=name,
                priority=priority,
                timezone=team.timezone,
                layers=[weekly],
            )
        )
    sam = Client(
        team_id=team.id,
        preferred_name="Sam",
        assigned_case_manager_id=casey.id,
        backup_case_manager_id=bea.id,
    )
    session.add(sam)
    session.flush()
    session.add(ClientPhone(client_id=sam.id, number="+12015550150", relation="self"))
    session.add(
        ClientPhone(client_id=sam.id, number="+12015550151", relation="family", name="Sam's mother")
    )
    session.add(
        CrisisPlan(
            client_id=sam.id,
            version=1,
            created_by="demo",
            sections={
                "warning_signs": ["not sleeping", "skipping meds"],
                "coping_strategies": ["walk the dog", "music"],
                "social_supports": ["coffee shop on Main St"],
                "people_to_call": ["sister"],
                "professionals": ["Casey (case manager)", "988 Suicide & Crisis Lifeline"],
                "safe_environment": ["meds kept by sister"],
                "reasons_for_living": ["the dog", "painting"],
            },
        )
    )
    rosa = Client(
        team_id=team.id,
        preferred_name="Rosa",
        language="es",
        assigned_case_manager_id=casey.id,
        backup_case_manager_id=bea.id,
    )
    session.add(rosa)
    session.flush()
    session.add(ClientPhone(client_id=rosa.id, number=DEMO_SPANISH_CLIENT_PHONE, relation="self"))
    _, key = create_key(
        session=session, name="demo supervisor", role=Role.SUPERVISOR, team_id=team.id
    )
    audit_row(session, CLI, "demo.seed", team, record_type="team", team_id=team.id)
    return team, key
