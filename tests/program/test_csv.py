"""Bulk import validates every row first and imports nothing when any is bad."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app import migrations
from app.cli import cli
from app.clients.models import Client
from app.db import Database, make_engine
from app.teams.models import Staff, Team
from tests.factories import make_team


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/import.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("MESSAGING_TRANSPORT", raising=False)
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    return url


def count(url, model) -> int:
    database = Database.from_url(url)
    with database.session() as s:
        n = s.execute(select(func.count()).select_from(model)).scalar_one()
    database.engine.dispose()
    return n


def write(path, rows):
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return str(path)


def test_staff_and_clients_import_then_export(db_url, tmp_path):
    database = Database.from_url(db_url)
    with database.session() as s:
        team_id = make_team(s, caseload_limit=1).id
    runner = CliRunner()
    staff_csv = write(
        tmp_path / "staff.csv",
        [
            ["name", "phone", "role", "working_hours"],
            ["Casey", "201-555-0181", "case_manager", "mon,tue,wed,thu,fri 09:00-17:00"],
            ["Sue", "(201) 555-0180", "supervisor", ""],
        ],
    )
    r = runner.invoke(cli, ["import", "staff", staff_csv, "--team", str(team_id)])
    assert r.exit_code == 0, r.output
    assert count(db_url, Staff) == 2
    with database.session() as s:
        casey = s.execute(select(Staff).where(Staff.name == "Casey")).scalar_one()
        assert casey.phone == "+12015550181" and casey.working_hours[0]["days"][0] == "mon"
    clients_csv = write(
        tmp_path / "clients.csv",
        [
            ["preferred_name", "phones", "assigned_case_manager_id", "backup_case_manager_id"],
            ["Sam", "+12015550150:self; +12015550151:family:Mother", str(casey.id), ""],
        ],
    )
    r = runner.invoke(cli, ["import", "clients", clients_csv, "--team", str(team_id)])
    assert r.exit_code == 0, r.output
    out = runner.invoke(cli, ["export", "clients", "--team", str(team_id)])
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert rows[0]["preferred_name"] == "Sam"
    # Escaped for spreadsheets (a leading + would run as a formula).
    assert rows[0]["phones"] == "'+12015550150:self; +12015550151:family:Mother"
    database.engine.dispose()


def test_one_bad_row_imports_nothing_and_every_bad_row_is_reported(db_url, tmp_path):
    database = Database.from_url(db_url)
    with database.session() as s:
        team_id = make_team(s, caseload_limit=1).id
    staff_csv = write(
        tmp_path / "staff.csv",
        [
            ["name", "phone", "role", "working_hours"],
            ["Casey", "201-555-0181", "case_manager", ""],
            ["Bad Phone", "+1 555 555 0100", "case_manager", ""],
            ["Bad Role", "201-555-0182", "wizard", ""],
            ["Bad Hours", "201-555-0183", "case_manager", "funday 09:00-17:00"],
        ],
    )
    r = CliRunner().invoke(cli, ["import", "staff", staff_csv, "--team", str(team_id)])
    assert r.exit_code == 2
    assert (
        "line 3" in r.output
        and "line 4" in r.output
        and "line 5" in r.output
        and "line 2" not in r.output
    )
    assert count(db_url, Staff) == 0
    # Caseload is checked across rows of the same file.
    with database.session() as s:
        from tests.factories import make_staff

        cm = make_staff(s, s.get(Team, team_id), phone="+12015550184")
        cm_id = cm.id
    clients_csv = write(
        tmp_path / "clients.csv",
        [
            ["preferred_name", "phones", "assigned_case_manager_id", "backup_case_manager_id"],
            ["Sam", "", str(cm_id), ""],
            ["Alex", "", str(cm_id), ""],
        ],
    )
    r = CliRunner().invoke(cli, ["import", "clients", clients_csv, "--team", str(team_id)])
    assert r.exit_code == 2 and "line 3" in r.output and "caseload" in r.output
    assert count(db_url, Client) == 0
    database.engine.dispose()


def test_unknown_team_and_missing_columns_exit_2(db_url, tmp_path):
    runner = CliRunner()
    staff_csv = write(
        tmp_path / "staff.csv",
        [["name", "phone", "role"], ["Casey", "201-555-0181", "case_manager"]],
    )
    r = runner.invoke(cli, ["import", "staff", staff_csv, "--team", "999"])
    assert r.exit_code == 2 and "no team 999" in r.output
    assert runner.invoke(cli, ["export", "clients", "--team", "999"]).exit_code == 2
    database = Database.from_url(db_url)
    with database.session() as s:
        team_id = make_team(s).id
    database.engine.dispose()
    no_name = write(tmp_path / "bad.csv", [["who", "phone"], ["Casey", "201-555-0181"]])
    r = runner.invoke(cli, ["import", "staff", no_name, "--team", str(team_id)])
    assert r.exit_code == 2 and "missing column" in r.output
    assert count(db_url, Staff) == 0


def test_client_rows_are_checked_like_the_api_including_across_rows(db_url, tmp_path):
    database = Database.from_url(db_url)
    with database.session() as s:
        from tests.factories import make_staff

        team = make_team(s)
        team_id = team.id
        cm = make_staff(s, team, phone="+12015550181")
        sup = make_staff(s, team, phone="+12015550180", role="supervisor")
        cm_id, sup_id = cm.id, sup.id
    clients_csv = write(
        tmp_path / "clients.csv",
        [
            ["preferred_name", "phones", "assigned_case_manager_id", "backup_case_manager_id"],
            ["Sam", "201-555-0150:self", str(cm_id), ""],  # 2 fine
            ["Staff", "+12015550181:self", "", ""],  # 3 a staff phone
            ["Sup", "", str(cm_id), str(sup_id)],  # 4 backup is a supervisor
            ["Same", "", str(cm_id), str(cm_id)],  # 5 same person twice
            ["Bad", "+1 555 555 0100:self", "", ""],  # 6 invalid number
            ["Rel", "201-555-0152:pal", "", ""],  # 7 bad relation
            ["", "", "", ""],  # 8 no name
            ["Shared", "201-555-0150:family:Mum", "x", ""],  # 9 not a staff id
        ],
    )
    r = CliRunner().invoke(cli, ["import", "clients", clients_csv, "--team", str(team_id)])
    assert r.exit_code == 2, r.output
    for line in range(3, 10):
        assert f"line {line}:" in r.output, (line, r.output)
    assert (
        "line 2:" not in r.output
        and "staff member's phone" in r.output
        and "not a case manager" in r.output
    )
    assert count(db_url, Client) == 0
    database.engine.dispose()


def test_export_round_trips_into_another_team(db_url, tmp_path):
    database = Database.from_url(db_url)
    with database.session() as s:
        source, target = make_team(s).id, make_team(s).id
    database.engine.dispose()
    runner = CliRunner()
    rows = [
        ["preferred_name", "phones"],
        ["Sam", '+12015550150:self; +12015550151:family:Mum, "the" boss'],
        ["Alex", "+12015550151:family"],
    ]
    assert (
        runner.invoke(
            cli, ["import", "clients", write(tmp_path / "a.csv", rows), "--team", str(source)]
        ).exit_code
        == 0
    )
    exported = runner.invoke(cli, ["export", "clients", "--team", str(source)]).output
    (tmp_path / "export.csv").write_text(exported)
    r = runner.invoke(
        cli, ["import", "clients", str(tmp_path / "export.csv"), "--team", str(target)]
    )
    assert r.exit_code == 0, r.output
    again = list(
        csv.DictReader(
            io.StringIO(runner.invoke(cli, ["export", "clients", "--team", str(target)]).output)
        )
    )
    assert [(row["preferred_name"], row["phones"], row["status"]) for row in again] == [
        ("Sam", '\'+12015550150:self; +12015550151:family:Mum, "the" boss', "active"),
        ("Alex", "'+12015550151:family", "active"),
    ]
