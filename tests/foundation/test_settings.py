import pytest
from typer.testing import CliRunner

from app.settings import SettingsError, load_settings


def test_twilio_transport_without_credentials_fails_fast():
    with pytest.raises(SettingsError, match="MESSAGING_TRANSPORT=twilio needs TWILIO_ACCOUNT_SID"):
        load_settings(messaging_transport="twilio", twilio_account_sid=None, twilio_auth_token=None)


def test_unparsable_database_url_names_the_setting():
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings(database_url="not a url at all")


def test_unsupported_backend_is_refused():
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings(database_url="mysql://root@localhost/test")


def test_transport_defaults_follow_credentials():
    assert (
        load_settings(twilio_account_sid=None, twilio_auth_token=None).messaging_transport
        == "outbox"
    )
    assert (
        load_settings(twilio_account_sid="AC1", twilio_auth_token="t").messaging_transport
        == "twilio"
    )


def test_cli_reports_broken_setting_and_exits_2(monkeypatch):
    from app.cli import cli

    monkeypatch.setenv("DATABASE_URL", "nonsense://")
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "DATABASE_URL" in result.output
