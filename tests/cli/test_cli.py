import subprocess
import sys

from sqlmodel import Session, select
from typer.testing import CliRunner

from app.auth.models import ApiKey
from app.auth.service import hash_key
from app.cli import cli
from app.db import make_engine


def test_db_upgrade_and_keys_create(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("MESSAGING_TRANSPORT", raising=False)
    runner = CliRunner()
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["keys", "create", "--role", "admin", "--name", "first"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("cr_")
    engine = make_engine(url)
    with Session(engine) as s:
        row = s.exec(select(ApiKey)).one()
        assert row.key_hash == hash_key(key) and row.role == "admin"
    engine.dispose()
    bad = runner.invoke(cli, ["keys", "create", "--role", "case_manager", "--name", "x"])
    assert bad.exit_code == 2
    assert "team" in bad.output


def test_simulate_against_a_database_without_tables_says_so_and_posts_nothing(
    tmp_path, monkeypatch
):
    import respx

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    with respx.mock(assert_all_called=False) as network:
        posted = network.post(url__regex=r".*/twilio/sms").respond(200, text="<Response/>")
        result = CliRunner().invoke(
            cli,
            [
                "simulate",
                "sms",
                "--from",
                "+12015550150",
                "--to",
                "+19735550100",
                "--body",
                "hi",
                "--url",
                "http://127.0.0.1:9",
            ],
        )
    assert result.exit_code == 2
    assert (
        "cannot read the server's database" in result.output
        and "crisisroute db upgrade" in result.output
    )
    assert "Traceback" not in result.output and not posted.called


def test_loading_the_cli_leaves_prometheus_client_unloaded():
    """`serve` points prometheus_client at a directory its processes share
    before anything loads it; prometheus_client reads that when it loads."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, app.cli; print('prometheus_client' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"


def test_every_command_of_the_contract_is_there():
    commands = {
        " ".join(words)
        for words in (
            ["serve"],
            ["worker"],
            ["demo"],
            ["purge"],
            ["db", "upgrade"],
            ["keys", "create"],
            ["keys", "list"],
            ["keys", "revoke"],
            ["simulate", "sms"],
            ["simulate", "call"],
            ["simulate", "page"],
            ["import", "staff"],
            ["import", "clients"],
            ["export", "clients"],
            ["console", "code"],
        )
    }
    for command in commands:
        result = CliRunner().invoke(cli, [*command.split(), "--help"])
        assert result.exit_code == 0, (command, result.output)
