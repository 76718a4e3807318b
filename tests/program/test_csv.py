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


def test_export_escapes_formula_cells_and_import_reads_them_back(db_url, tmp_path):
    from app.clients.models import ClientPhone
    from tests.factories import make_client

    database = Database.from_url(db_url)
    names = ['=HYPERLINK("http://evil.example","open")', "@SUM(A1)", "-2+3", "+Plus", "Sam"]
    with database.session() as s:
        source, target = make_team(s), make_team(s)
        for i, name in enumerate(names):
            make_client(s, source, preferred_name=name, phones=[(f"+1201555015{i}", "self")])
        make_client(s, source, preferred_name="\tTabbed")
        source_id, target_id = source.id, target.id
    runner = CliRunner()
    exported = runner.invoke(cli, ["export", "clients", "--team", str(source_id)]).output
    rows = list(csv.reader(io.StringIO(exported)))[1:]
    cells = {row[1]: row[2] for row in rows}
    assert set(cells) == {
        '\'=HYPERLINK("http://evil.example","open")',
        "'@SUM(A1)",
        "'-2+3",
        "'+Plus",
        "Sam",
        "'\tTabbed",
    }
    assert all(phones.startswith("'+1201555015") for phones in cells.values() if phones)
    # The same file imported back: names and numbers exactly as they were.
    rows_out = [["preferred_name", "phones"]] + [
        [row[1], row[2]] for row in rows if "Tab" not in row[1]
    ]
    r = runner.invoke(
        cli, ["import", "clients", write(tmp_path / "back.csv", rows_out), "--team", str(target_id)]
    )
    assert r.exit_code == 0, r.output
    with database.session() as s:
        imported = {
            c.preferred_name: s.execute(
                select(ClientPhone.number).where(ClientPhone.client_id == c.id)
            ).scalar_one()
            for c in s.execute(select(Client).where(Client.team_id == target_id)).scalars()
        }
    assert imported == {name: f"+1201555015{i}" for i, name in enumerate(names)}
    database.engine.dispose()


def test_import_reports_limits_encoding_and_absurd_ids_per_row(db_url, tmp_path):
    database = Database.from_url(db_url)
    with database.session() as s:
        team_id = make_team(s).id
    database.engine.dispose()
    lines = [
        b"preferred_name,phones,assigned_case_manager_id,backup_case_manager_id",
        b"Sam,,,",  # 2 fine
        ("N" * 101).encode() + b",,,",  # 3 longer than the API allows
        b"Jos\xe9,,,",  # 4 Latin-1, not UTF-8
        b"Alex,,99999999999999999999999,",  # 5 an id no row can have
        b"Kim,+12015550150:family:" + ("M" * 201).encode() + b",,",  # 6 phone name too long
        b"Lee,,,-3",  # 7 a negative id
    ]
    path = tmp_path / "clients.csv"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    r = CliRunner().invoke(cli, ["import", "clients", str(path), "--team", str(team_id)])
    assert r.exit_code == 2, (r.output, r.exception)
    assert isinstance(r.exception, SystemExit), r.exception  # a report, not a traceback
    out = r.output
    assert "line 2:" not in out
    assert "line 3: preferred_name:" in out and "100 characters" in out
    assert "line 4: preferred_name: not UTF-8" in out
    assert "line 5: assigned_case_manager_id:" in out and "2147483647" in out
    assert "line 6: phones.0.name:" in out and "200 characters" in out
    assert "line 7: backup_case_manager_id:" in out
    assert count(db_url, Client) == 0


@pytest.fixture
def transactions():
    """Client rows INSERTed by each committed transaction, in order."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    per_commit: list[int] = []
    current = {"clients": 0}

    def executed(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO client "):
            current["clients"] += 1

    def committed(conn):
        per_commit.append(current["clients"])
        current["clients"] = 0

    event.listen(Engine, "after_cursor_execute", executed)
    event.listen(Engine, "commit", committed)
    yield per_commit
    event.remove(Engine, "after_cursor_execute", executed)
    event.remove(Engine, "commit", committed)


def test_import_commits_in_short_batches_and_removes_them_when_a_row_is_bad(
    db_url, tmp_path, monkeypatch, transactions
):
    from app.clients import cli as import_module
    from app.clients.models import ClientPhone
    from tests.factories import make_staff

    monkeypatch.setattr(import_module, "BATCH_ROWS", 40)
    database = Database.from_url(db_url)
    with database.session() as s:
        team = make_team(s)
        team_id = team.id
        make_staff(s, team, phone="+12015559999")
    database.engine.dispose()
    header = ["preferred_name", "phones"]
    good = [[f"Client {n}", f"+1201555{1000 + n:04d}:self"] for n in range(170)]
    r = CliRunner().invoke(
        cli,
        ["import", "clients", write(tmp_path / "ok.csv", [header, *good]), "--team", str(team_id)],
    )
    assert r.exit_code == 0, r.output
    assert count(db_url, Client) == 170
    written = [n for n in transactions if n]
    assert sum(written) == 170 and len(written) >= 5 and max(written) <= 40, written

    # A bad row found only while writing (a staff member's phone), after
    # several batches were committed: those are removed again.
    transactions.clear()
    more = [[f"Other {n}", f"+1201555{3000 + n:04d}:self"] for n in range(150)]
    more.insert(130, ["Shares staff phone", "+12015559999:self"])
    r = CliRunner().invoke(
        cli,
        ["import", "clients", write(tmp_path / "bad.csv", [header, *more]), "--team", str(team_id)],
    )
    assert r.exit_code == 2 and "line 132:" in r.output and "staff member's phone" in r.output
    assert len([n for n in transactions if n]) >= 3  # it did commit batches meanwhile
    assert count(db_url, Client) == 170 and count(db_url, ClientPhone) == 170
