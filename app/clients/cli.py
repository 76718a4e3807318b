"""Bulk import and export for programs moving off spreadsheets.

Every row is checked by the API's own request schemas (field limits
included) and then by the same service functions as the API. Rows are
written in batches of BATCH_ROWS, each its own short transaction, so a
30,000-row file never holds SQLite's write lock (which the router needs for
every text) for more than a moment. All or nothing still holds: if any row is
bad, the rows already written by this import are removed again, and the
report lists every bad row and why.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from pathlib import Path

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, select
from sqlmodel import Session, SQLModel, col

from app.auth.service import CLI, audit
from app.clients.models import Client, ClientPhone
from app.clients.schemas import ClientCreate
from app.clients.service import clients_of, create_client, phones_out
from app.commands import database_from_environment, fail
from app.db import table_of
from app.errors import AppError
from app.routing import validate_working_hours
from app.spreadsheets import escape_row, unescape_cell
from app.teams.models import Staff, Team
from app.teams.phones import parse_phone
from app.teams.schemas import StaffCreate
from app.teams.service import create_staff

# A transaction writes rows until either bound is reached, then commits:
# on SQLite the router waits for the write lock while it is held.
BATCH_ROWS = 200
BATCH_SECONDS = 0.05

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


class BadRow(ValueError):
    """A row that cannot be imported, with why (one line of the report)."""


def _rows(path: Path, columns: list[str]) -> list[tuple[int, dict]]:
    """(line number, row) for every data row. Bytes that are not UTF-8 are
    kept as surrogates here and reported for their row, not as a traceback."""
    text = path.read_bytes().decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in columns[:1] if c not in (reader.fieldnames or [])]
    if missing:
        typer.secho(
            f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    rows = []
    for row in reader:
        cells = {
            key: unescape_cell(value) if isinstance(value, str) else value
            for key, value in row.items()
        }
        rows.append((reader.line_num, cells))
    return rows


def _check_text(row: dict) -> None:
    for column, value in row.items():
        for text in [column, *(value if isinstance(value, list) else [value])]:
            if isinstance(text, str) and any("\udc80" <= ch <= "\udcff" for ch in text):
                where = f"{column}: " if column and column != text else ""
                raise BadRow(f"{where}not UTF-8 text (save the file as UTF-8 and import again)")


def _validated(schema: type[BaseModel], data: dict) -> dict:
    """The API's request schema decides (lengths, id ranges, unknown fields)."""
    try:
        return schema.model_validate(data).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise BadRow(
            "; ".join(
                f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
        ) from None


def _run_import(path: Path, team_id: int, columns: list[str], prepare_row, create_row) -> None:
    """Check every row alone first (schemas and phone numbers: no write
    lock), then write them in short transactions, each row in a SAVEPOINT so
    rules across rows and against the database (a phone taken, a caseload
    full) are found for every row."""
    rows = _rows(path, columns)
    database = database_from_environment()
    with database.session() as session:
        team = session.get(Team, team_id)
        if team is None:
            fail(f"no team {team_id}")
        region = team.region
    errors: list[tuple[int, str]] = []
    prepared: list[tuple[int, dict]] = []
    for number, row in rows:
        try:
            _check_text(row)
            prepared.append((number, prepare_row(row, region)))
        except (AppError, ValueError) as exc:
            errors.append((number, _reason(exc) if isinstance(exc, AppError) else str(exc)))
    # Written even when some rows already failed, so that the report names
    # every bad row; what was written is removed again below.
    created: list[tuple[type[SQLModel], int]] = []
    pending = iter(prepared)
    with typer.progressbar(length=len(prepared), label=f"importing {len(rows)} rows") as bar:
        while True:
            with database.session() as session:
                team = session.get(Team, team_id)
                began, written = time.monotonic(), 0
                for number, data in pending:
                    try:
                        with session.begin_nested():
                            created.extend(create_row(session, team, data))
                    except (AppError, ValueError) as exc:
                        errors.append(
                            (number, _reason(exc) if isinstance(exc, AppError) else str(exc))
                        )
                    written += 1
                    if written >= BATCH_ROWS or time.monotonic() - began >= BATCH_SECONDS:
                        break
            bar.update(written)
            if written == 0 or bar.pos >= len(prepared):
                break
    if errors:
        # Newest first: a client's phones before the client.
        newest_first = created[::-1]
        for first in range(0, len(newest_first), BATCH_ROWS):
            with database.session() as session:
                for model, row_id in newest_first[first : first + BATCH_ROWS]:
                    session.execute(delete(model).where(table_of(model).c.id == row_id))
        typer.secho(
            f"{len(errors)} bad row(s); nothing was imported:", fg=typer.colors.RED, err=True
        )
        for number, reason in sorted(errors):
            typer.echo(f"  line {number}: {reason}", err=True)
        raise typer.Exit(2)
    with database.session() as session:
        audit(
            session=session,
            principal=CLI,
            action="import",
            record_type="team",
            record_id=team_id,
            team_id=team_id,
            detail={"file": path.name, "rows": len(rows)},
        )
    typer.echo(f"imported {len(rows)} row(s) into team {team_id}")


@import_cli.command("staff")
def import_staff(
    file: Path = typer.Argument(..., exists=True, readable=True),
    team: int = typer.Option(..., help="team id"),
) -> None:
    """Columns: name, phone, role (case_manager/supervisor), working_hours (`mon,tue 09:00-17:00; …`), language, languages_spoken (`en es`)."""

    def prepare_row(row: dict, region: str) -> dict:
        data = _validated(
            StaffCreate,
            {
                "name": (row.get("name") or "").strip(),
                "phone": row.get("phone") or "",
                "role": (row.get("role") or "").strip(),
                "working_hours": parse_hours(row.get("working_hours") or ""),
                **_staff_languages(row),
            },
        )
        data["phone"] = parse_phone(data["phone"], region, "phone")
        return data

    def create_row(session: Session, team_row, data: dict) -> list[tuple[type[SQLModel], int]]:
        staff = create_staff(session=session, team=team_row, data=data)
        return [(Staff, staff.id)]

    _run_import(file, team, STAFF_COLUMNS, prepare_row, create_row)


@import_cli.command("clients")
def import_clients(
    file: Path = typer.Argument(..., exists=True, readable=True),
    team: int = typer.Option(..., help="team id"),
) -> None:
    """Columns: preferred_name, phones (`+1…:self; +1…:family:Mother@es`), assigned_case_manager_id, backup_case_manager_id, language (`en`, `es`)."""

    def prepare_row(row: dict, region: str) -> dict:
        data = _validated(
            ClientCreate,
            {
                "preferred_name": (row.get("preferred_name") or "").strip(),
                "phones": parse_phones(row.get("phones") or ""),
                # Blank means none; anything else must be a staff id (the schema says which).
                "assigned_case_manager_id": (row.get("assigned_case_manager_id") or "").strip()
                or None,
                "backup_case_manager_id": (row.get("backup_case_manager_id") or "").strip() or None,
                "language": (row.get("language") or "").strip() or None,
            },
        )
        for i, phone in enumerate(data.get("phones") or []):
            phone["number"] = parse_phone(phone["number"], region, ["body", "phones", i, "number"])
        return data

    def create_row(session: Session, team_row, data: dict) -> list[tuple[type[SQLModel], int]]:
        client = create_client(session=session, team=team_row, data=data)
        phones = session.execute(
            select(col(ClientPhone.id)).where(col(ClientPhone.client_id) == client.id)
        ).scalars()
        return [(Client, client.id), *((ClientPhone, phone_id) for phone_id in phones)]

    _run_import(file, team, CLIENT_COLUMNS, prepare_row, create_row)


def _staff_languages(row: dict) -> dict:
    """`language` (what they are sent) and `languages_spoken` (`en es`), when given."""
    given = {}
    if (row.get("language") or "").strip():
        given["language"] = row["language"].strip()
    spoken = (row.get("languages_spoken") or "").replace(",", " ").split()
    if spoken:
        given["languages_spoken"] = spoken
    return given


@export_cli.command("clients")
def export_clients(team: int = typer.Option(..., help="team id")) -> None:
    """All of a team's clients as CSV on stdout (the import format, plus id and status)."""
    database = database_from_environment()
    with database.session() as session:
        if session.get(Team, team) is None:
            fail(f"no team {team}")
        writer = csv.writer(sys.stdout)
        # Cells a spreadsheet would run as a formula start with an apostrophe
        # (app.spreadsheets); the import takes it off again.
        writer.writerow(["id", *CLIENT_COLUMNS, "status"])
        for client in clients_of(session=session, team_id=team):
            phones = "; ".join(
                f"{p['number']}:{p['relation']}"
                + (f":{p['name']}" if p["name"] else "")
                + (f"@{p['language']}" if p["language"] else "")
                for p in phones_out(session=session, client=client)
            )
            writer.writerow(
                escape_row(
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
            )
        audit(
            session=session,
            principal=CLI,
            action="export.clients",
            record_type="team",
            record_id=team,
            team_id=team,
        )
