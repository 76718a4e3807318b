"""Bulk import and export for programs moving off spreadsheets.

Every row goes through the same service validation as the API, each in its
own SAVEPOINT inside one transaction: if any row is bad, the whole file is
rolled back and a report lists every bad row and why.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer

from app.errors import AppError

import_cli = typer.Typer(
    help="Import staff or clients from CSV (all rows or none).", no_args_is_help=True
)
export_cli = typer.Typer(help="Export to CSV.", no_args_is_help=True)

STAFF_COLUMNS = ["name", "phone", "role", "working_hours", "language", "languages_spoken"]
CLIENT_COLUMNS = [
    "preferred_name",
    "phones",
    "assigned_case_manager_id",
    "backup_case_manager_id",
    "language",
]


def _reason(exc: AppError) -> str:
    detail = exc.detail
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in detail)
    if isinstance(detail, dict):
        return str(detail.get("message", detail))
    return str(detail)


def parse_hours(text: str) -> list[dict]:
    """`mon,tue,wed 09:00-17:00; sat 10:00-14:00` → working-hours entries."""
    from app.routing import validate_working_hours

    entries = []
    for chunk in filter(None, (c.strip() for c in (text or "").split(";"))):
        days, _, span = chunk.partition(" ")
        start, _, end = span.strip().partition("-")
        entries.append(
            {
                "days": [d.strip().lower() for d in days.split(",") if d.strip()],
                "start": start,
                "end": end,
            }
        )
    try:
        validate_working_hours(entries)
    except ValueError as exc:
        raise ValueError(f"working_hours: {exc}") from None
    return entries


def parse_phones(text: str) -> list[dict]:
    """`+12015550150:self; +12015550151:family:Mother@es` → phone entries
    (`@es`: the language of whoever uses that number)."""
    phones = []
    for chunk in filter(None, (c.strip() for c in (text or "").split(";"))):
        chunk, at, language = chunk.partition("@")
        number, _, rest = chunk.partition(":")
        relation, _, name = rest.partition(":")
        if relation not in ("self", "family", "guardian", "other"):
            raise ValueError(
                f"phones: relation of {number!r} must be self, family, guardian or other"
            )
        phones.append(
            {
                "number": number.strip(),
                "relation": relation,
                "name": name or None,
                "language": language.strip() if at else None,
            }
        )
    return phones


def _rows(path: Path, columns: list[str]) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns[:1] if c not in (reader.fieldnames or [])]
        if missing:
            typer.secho(
                f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(2)
        return list(reader)


def _run_import(path: Path, team_id: int, columns: list[str], create_row) -> None:
    from app.auth.service import CLI, audit
    from app.cli import _database, _settings
    from app.teams.models import Team

    rows = _rows(path, columns)
    database = _database(_settings())
    session = database.sessionmaker()
    errors: list[tuple[int, str]] = []
    try:
        team = session.get(Team, team_id)
        if team is None:
            typer.secho(f"no team {team_id}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2)
        with typer.progressbar(rows, label=f"validating {len(rows)} rows") as progress:
            for number, row in enumerate(progress, start=2):  # line 1 is the header
                try:
                    with session.begin_nested():
                        create_row(session, team, row)
                except (AppError, ValueError, KeyError) as exc:
                    errors.append((number, _reason(exc) if isinstance(exc, AppError) else str(exc)))
        if errors:
            session.rollback()
            typer.secho(
                f"{len(errors)} bad row(s); nothing was imported:", fg=typer.colors.RED, err=True
            )
            for number, reason in errors:
                typer.echo(f"  line {number}: {reason}", err=True)
            raise typer.Exit(2)
        audit(
            session=session,
            principal=CLI,
            action="import",
            record_type="team",
            record_id=team.id,
            team_id=team.id,
            detail={"file": path.name, "rows": len(rows)},
        )
        session.commit()
        typer.echo(f"imported {len(rows)} row(s) into team {team.id}")
    finally:
        session.close()


@import_cli.command("staff")
def import_staff(
    file: Path = typer.Argument(..., exists=True, readable=True),
    team: int = typer.Option(..., help="team id"),
) -> None:
    """Columns: name, phone, role (case_manager/supervisor), working_hours (`mon,tue 09:00-17:00; …`), language, languages_spoken (`en es`)."""
    from app.teams.service import create_staff

    def create_row(session, team_row, row):
        role = (row.get("role") or "").strip()
        if role not in ("case_manager", "supervisor"):
            raise ValueError("role: must be case_manager or supervisor")
        create_staff(
            session=session,
            team=team_row,
            data={
                "name": (row.get("name") or "").strip() or _fail("name: is required"),
                "phone": row.get("phone") or "",
                "role": role,
                "working_hours": parse_hours(row.get("working_hours") or ""),
                **_staff_languages(row),
            },
        )

    _run_import(file, team, STAFF_COLUMNS, create_row)


@import_cli.command("clients")
def import_clients(
    file: Path = typer.Argument(..., exists=True, readable=True),
    team: int = typer.Option(..., help="team id"),
) -> None:
    """Columns: preferred_name, phones (`+1…:self; +1…:family:Mother@es`), assigned_case_manager_id, backup_case_manager_id, language (`en`, `es`)."""
    from app.clients.service import create_client

    def create_row(session, team_row, row):
        def staff_id(name):
            value = (row.get(name) or "").strip()
            if not value:
                return None
            if not value.isdigit():
                raise ValueError(f"{name}: must be a staff id")
            return int(value)

        create_client(
            session=session,
            team=team_row,
            data={
                "preferred_name": (row.get("preferred_name") or "").strip()
                or _fail("preferred_name: is required"),
                "phones": parse_phones(row.get("phones") or ""),
                "assigned_case_manager_id": staff_id("assigned_case_manager_id"),
                "backup_case_manager_id": staff_id("backup_case_manager_id"),
                "language": (row.get("language") or "").strip() or None,
            },
        )

    _run_import(file, team, CLIENT_COLUMNS, create_row)


def _staff_languages(row: dict) -> dict:
    """`language` (what they are sent) and `languages_spoken` (`en es`), when given."""
    given = {}
    if (row.get("language") or "").strip():
        given["language"] = row["language"].strip()
    spoken = (row.get("languages_spoken") or "").replace(",", " ").split()
    if spoken:
        given["languages_spoken"] = spoken
    return given


def _fail(message: str):
    raise ValueError(message)


@export_cli.command("clients")
def export_clients(team: int = typer.Option(..., help="team id")) -> None:
    """All of a team's clients as CSV on stdout (the import format, plus id and status)."""
    from app.auth.service import CLI, audit
    from app.cli import _database, _settings
    from app.clients.service import clients_of, phones_out
    from app.teams.models import Team

    database = _database(_settings())
    with database.session() as session:
        if session.get(Team, team) is None:
            typer.secho(f"no team {team}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2)
        writer = csv.writer(sys.stdout)
        writer.writerow(["id", *CLIENT_COLUMNS, "status"])
        for client in clients_of(session=session, team_id=team):
            phones = "; ".join(
                f"{p['number']}:{p['relation']}"
                + (f":{p['name']}" if p["name"] else "")
                + (f"@{p['language']}" if p["language"] else "")
                for p in phones_out(session=session, client=client)
            )
            writer.writerow(
                [
                    client.id,
                    client.preferred_name,
                    phones,
                    client.assigned_case_manager_id or "",
                    client.backup_case_manager_id or "",
                    client.language or "",
                    client.status,
                ]
            )
        audit(
            session=session,
            principal=CLI,
            action="export.clients",
            record_type="team",
            record_id=team,
            team_id=team,
        )
