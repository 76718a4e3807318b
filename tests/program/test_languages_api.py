"""Language as data through the API and the CSV: validated against the
catalogs (422 naming the field, nothing changed), carried in and out."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import cli
from app.clients.models import Client
from app.db import Database
from app.teams.models import Staff, Team
from tests.conftest import auth
from tests.factories import make_team
from tests.program.test_csv import db_url, write  # noqa: F401  (fixture)


def _loc(response) -> list:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"]


def test_client_and_phone_languages_are_stored_and_shown(client, program):
    r = client.post(
        f"/v1/teams/{program.team.id}/clients",
        json={
            "preferred_name": "Ana",
            "language": "es-US",
            "phones": [
                {"number": "+12015550160", "relation": "self"},
                {"number": "+12015550161", "relation": "family", "language": "en"},
            ],
        },
        headers=auth(program.sup_key),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["language"] == "es"
    assert [p["language"] for p in body["phones"]] == [None, "en"]


def test_an_unknown_language_is_422_naming_the_field_and_changes_nothing(client, program, session):
    url = f"/v1/teams/{program.team.id}/clients"
    headers = auth(program.sup_key)
    assert _loc(
        client.post(url, json={"preferred_name": "A", "language": "xx"}, headers=headers)
    ) == [
        "body",
        "language",
    ]
    bad_phone = {
        "preferred_name": "A",
        "phones": [{"number": "+12015550160", "relation": "self", "language": "klingon"}],
    }
    assert _loc(client.post(url, json=bad_phone, headers=headers)) == [
        "body",
        "phones",
        0,
        "language",
    ]
    assert session.execute(select(Client)).first() is None
    staff_url = f"/v1/teams/{program.team.id}/staff"
    new_staff = {"name": "B", "phone": "+12015550170", "role": "case_manager"}
    assert _loc(client.post(staff_url, json={**new_staff, "language": "fr"}, headers=headers)) == [
        "body",
        "language",
    ]
    assert _loc(
        client.post(
            staff_url, json={**new_staff, "languages_spoken": ["en", "zz"]}, headers=headers
        )
    ) == ["body", "languages_spoken", 1]
    team_url = f"/v1/teams/{program.team.id}"
    assert _loc(client.patch(team_url, json={"default_language": "de"}, headers=headers)) == [
        "body",
        "default_language",
    ]
    # A default the team does not offer.
    assert _loc(client.patch(team_url, json={"default_language": "es"}, headers=headers)) == [
        "body",
        "default_language",
    ]
    session.expire_all()
    assert session.get(Team, program.team.id).default_language == "en"


def test_staff_languages(client, program):
    r = client.post(
        f"/v1/teams/{program.team.id}/staff",
        json={"name": "Lupe", "phone": "+12015550172", "role": "case_manager", "language": "es"},
        headers=auth(program.sup_key),
    )
    assert r.status_code == 201, r.text
    assert r.json()["language"] == "es" and r.json()["languages_spoken"] == ["es"]
    r = client.patch(
        f"/v1/staff/{r.json()['id']}",
        json={"languages_spoken": ["es", "EN"]},
        headers=auth(program.sup_key),
    )
    assert r.status_code == 200, r.text
    assert r.json()["languages_spoken"] == ["es", "en"] and r.json()["language"] == "es"


def test_team_languages_custom_texts_and_priority_words(client, program, session):
    url = f"/v1/teams/{program.team.id}"
    headers = auth(program.sup_key)
    r = client.patch(
        url,
        json={
            "languages": ["en", "es"],
            "default_language": "es",
            "custom_texts": {"es": {"auto_reply_text": "Le leímos. Si corre peligro: 911 o 988."}},
            "priority_words_by_language": {"es": ["me quiero morir", "  "]},
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    team = r.json()
    assert team["languages"] == ["en", "es"] and team["default_language"] == "es"
    assert team["custom_texts"] == {
        "es": {"auto_reply_text": "Le leímos. Si corre peligro: 911 o 988."}
    }
    assert team["priority_words_by_language"]["es"] == ["me quiero morir"]


def test_a_custom_spanish_auto_reply_without_988_is_refused(client, program, session):
    url = f"/v1/teams/{program.team.id}"
    r = client.patch(
        url,
        json={"custom_texts": {"es": {"auto_reply_text": "Recibimos su mensaje. Llame al 911."}}},
        headers=auth(program.sup_key),
    )
    assert _loc(r) == ["body", "custom_texts", "es", "auto_reply_text"]
    assert "988" in r.json()["detail"][0]["msg"]
    r = client.patch(
        url,
        json={"custom_texts": {"es": {"fallback_text": "Llame al 988."}}},
        headers=auth(program.sup_key),
    )
    assert _loc(r) == ["body", "custom_texts", "es", "fallback_text"]
    session.expire_all()
    assert session.get(Team, program.team.id).custom_texts == {}


def test_english_custom_texts_are_the_top_level_fields(client, program):
    text = "We read you. In danger: call 911, or call or text 988."
    r = client.patch(
        f"/v1/teams/{program.team.id}",
        json={"custom_texts": {"en": {"auto_reply_text": text}}},
        headers=auth(program.sup_key),
    )
    assert r.status_code == 200, r.text
    assert r.json()["auto_reply_text"] == text and r.json()["custom_texts"] == {}


def test_csv_carries_languages(db_url, tmp_path):  # noqa: F811
    database = Database.from_url(db_url)
    with database.session() as s:
        team_id = make_team(s).id
    runner = CliRunner()
    staff_csv = write(
        tmp_path / "staff.csv",
        [
            ["name", "phone", "role", "working_hours", "language", "languages_spoken"],
            ["Lupe", "201-555-0181", "case_manager", "", "es", "es en"],
        ],
    )
    r = runner.invoke(cli, ["import", "staff", staff_csv, "--team", str(team_id)])
    assert r.exit_code == 0, r.output
    clients_csv = write(
        tmp_path / "clients.csv",
        [
            ["preferred_name", "phones", "language"],
            ["Ana", "+12015550150:self; +12015550151:family:Mamá@en", "es"],
        ],
    )
    r = runner.invoke(cli, ["import", "clients", clients_csv, "--team", str(team_id)])
    assert r.exit_code == 0, r.output
    with database.session() as s:
        lupe = s.execute(select(Staff).where(Staff.name == "Lupe")).scalar_one()
        assert (lupe.language, lupe.languages_spoken) == ("es", ["es", "en"])
    out = runner.invoke(cli, ["export", "clients", "--team", str(team_id)])
    [row] = list(csv.DictReader(io.StringIO(out.output)))
    assert row["language"] == "es"
    assert row["phones"] == "'+12015550150:self; +12015550151:family:Mamá@en"
    bad = write(tmp_path / "bad.csv", [["preferred_name", "language"], ["Bo", "xx"]])
    r = runner.invoke(cli, ["import", "clients", bad, "--team", str(team_id)])
    assert r.exit_code != 0 and "language" in r.output
    database.engine.dispose()
