"""No PHI in the logs of a full run.

A real `crisisroute serve` subprocess (at LOG_LEVEL=DEBUG, so the libraries
speak too) goes through a whole flow: a client's text, the auto-reply and the
case manager's notification, the case manager's reply relayed to the client
and the client's answer relayed back, a family member's text that nobody
answers (escalation through every level to the fallback), an unknown sender,
staff commands, STOP, a delivery failure callback, a forged webhook and a
text to an unknown line. Then its whole stdout is searched for every phone
number (in any common spelling), every name and every message body used.
"""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy import text as text_sql

from benchmarks.common import (
    Server,
    TwilioStandIn,
    migrated_database,
    notification_ref,
    post_signed,
    sign,
    sms_params,
    wait_until,
)

pytestmark = pytest.mark.slow

LINE = "+19735550142"
OTHER_LINE = "+19735550143"
CLIENT = ("Marisol Quintero", "+12015550137")
FAMILY = ("Rosalind Quintero", "+12015550138")
UNKNOWN = "+12015550139"
CASE_MANAGER = ("Casimir Okonkwo", "+12015550171")
BACKUP = ("Beatrix Lindqvist", "+12015550172")
SUPERVISOR = ("Octavia Achterberg", "+12015550173")
FALLBACK = "+19085550174"
ALWAYS = [
    {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}
]

BODIES = {
    "client_first": "Zebrafinch lantern I cannot sleep again please call",
    "staff_relay": "Quokkaharbor I am calling you in five minutes",
    "client_answer": "Marmaladetuesday okay thank you",
    "family": "Periwinkleotter worried about my daughter tonight",
    "unknown": "Sassafraswindow is anyone there",
    "other_line": "Tamarindcorridor hello",
}


def seed(url: str) -> None:
    from app.clients.models import Client, ClientPhone
    from app.teams.models import Staff, Team

    database = migrated_database(url)
    with database.session() as s:
        team = Team(
            name="North ICM",
            timezone="America/New_York",
            region="US",
            crisis_line_number=LINE,
            fallback_number=FALLBACK,
            ack_timeout_seconds=1,
        )
        s.add(team)
        s.flush()
        cm = Staff(
            team_id=team.id,
            name=CASE_MANAGER[0],
            phone=CASE_MANAGER[1],
            role="case_manager",
            working_hours=ALWAYS,
        )
        backup = Staff(
            team_id=team.id,
            name=BACKUP[0],
            phone=BACKUP[1],
            role="case_manager",
            working_hours=ALWAYS,
        )
        sup = Staff(team_id=team.id, name=SUPERVISOR[0], phone=SUPERVISOR[1], role="supervisor")
        s.add_all([cm, backup, sup])
        s.flush()
        client = Client(
            team_id=team.id,
            preferred_name=CLIENT[0],
            assigned_case_manager_id=cm.id,
            backup_case_manager_id=backup.id,
        )
        s.add(client)
        s.flush()
        s.add(ClientPhone(client_id=client.id, number=CLIENT[1], relation="self"))
        s.add(ClientPhone(client_id=client.id, number=FAMILY[1], relation="family", name=FAMILY[0]))
    database.engine.dispose()


def outbox_settled(url: str) -> bool:
    """No outbound message waits to be handed to Twilio."""
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            waiting = c.execute(
                text_sql(
                    "SELECT count(*) FROM outbound_message WHERE status IN ('pending', 'sending')"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return waiting == 0


def spellings(e164: str) -> set[str]:
    """+12015550137, 12015550137, 2015550137, 201-555-0137, (201) 555-0137, 201.555.0137."""
    d = e164[2:]
    return {
        e164,
        e164[1:],
        d,
        f"{d[:3]}-{d[3:6]}-{d[6:]}",
        f"({d[:3]}) {d[3:6]}-{d[6:]}",
        f"{d[:3]}.{d[3:6]}.{d[6:]}",
        f"{d[:3]} {d[3:6]} {d[6:]}",
    }


@pytest.fixture
def run_log(tmp_path):
    stand_in = TwilioStandIn().start()
    server = Server(
        database_url=f"sqlite:///{tmp_path / 'phi.db'}",
        twilio_url=stand_in.url,
        tick_seconds=0.2,
        env={"LOG_LEVEL": "DEBUG"},
    )
    try:
        seed(server.env["DATABASE_URL"])
        server.start()
        flow(server, stand_in)
        server.stop()
        yield server.log_text(), stand_in
    finally:
        server.stop()
        stand_in.stop()


def text(server: Server, from_number: str, body: str, line: str = LINE) -> httpx.Response:
    async def go():
        async with httpx.AsyncClient(timeout=15) as c:
            return await post_signed(
                c, server.url, "/twilio/sms", sms_params(from_number, line, body)
            )

    return asyncio.run(go())


def flow(server: Server, stand_in: TwilioStandIn) -> None:
    assert text(server, CLIENT[1], BODIES["client_first"]).status_code == 200
    assert wait_until(lambda: stand_in.to(CASE_MANAGER[1]), 10)
    contact_id, _ = notification_ref(stand_in.to(CASE_MANAGER[1])[0].body)
    assert (
        text(server, CASE_MANAGER[1], f"#{contact_id} {BODIES['staff_relay']}").status_code == 200
    )
    assert wait_until(
        lambda: any(BODIES["staff_relay"] in a.body for a in stand_in.to(CLIENT[1])), 10
    )
    assert text(server, CLIENT[1], BODIES["client_answer"]).status_code == 200
    assert wait_until(
        lambda: any(BODIES["client_answer"] in a.body for a in stand_in.to(CASE_MANAGER[1])), 10
    )
    # Nobody answers the family member: every level, then the fallback.
    assert text(server, FAMILY[1], BODIES["family"]).status_code == 200
    assert text(server, UNKNOWN, BODIES["unknown"]).status_code == 200
    assert wait_until(
        lambda: (
            any(a.body.startswith("UNANSWERED") for a in stand_in.to(SUPERVISOR[1]))
            and stand_in.to(BACKUP[1])
        ),
        20,
    )
    for command in ("WHO", "HELP", "ACK", "DONE"):
        assert text(server, CASE_MANAGER[1], command).status_code == 200
    assert text(server, UNKNOWN, "STOP").status_code == 200
    assert text(server, CLIENT[1], BODIES["other_line"], line=OTHER_LINE).status_code == 404
    forged = sms_params(CLIENT[1], LINE, BODIES["client_first"])
    assert (
        httpx.post(
            server.url + "/twilio/sms", data=forged, headers={"X-Twilio-Signature": "x"}
        ).status_code
        == 403
    )
    sent = stand_in.to(BACKUP[1])[0]
    status = {
        "MessageSid": sent.sid,
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "To": BACKUP[1],
        "From": LINE,
        "AccountSid": "AC",
    }
    r = httpx.post(
        server.url + "/twilio/status",
        data=status,
        headers={"X-Twilio-Signature": sign(server.url + "/twilio/status", status)},
    )
    assert r.status_code == 204
    fallback = {"CallSid": "CA1", "From": FAMILY[1], "To": LINE}
    r = httpx.post(
        server.url + "/twilio/fallback",
        data=fallback,
        headers={"X-Twilio-Signature": sign(server.url + "/twilio/fallback", fallback)},
    )
    assert r.status_code == 200
    # The escalation the failed delivery caused must have been handed to
    # Twilio (and logged) before the server is stopped; stop() then waits for
    # the whole process group to exit, so every line it logs is in the file.
    assert wait_until(lambda: outbox_settled(server.env["DATABASE_URL"]), 20)


def test_no_phone_number_name_or_message_body_in_the_logs(run_log):
    log, stand_in = run_log
    # Not vacuous: the run did log, and the messages really went out with the PHI in them.
    assert "contact_opened" in log and '"route": "/twilio/sms"' in log.replace(
        '"route":"', '"route": "'
    )
    assert any(CLIENT[0] in a.body or "Marisol" in a.body for a in stand_in.to(CASE_MANAGER[1]))
    leaks = []
    for number in (
        CLIENT[1],
        FAMILY[1],
        UNKNOWN,
        CASE_MANAGER[1],
        BACKUP[1],
        SUPERVISOR[1],
        FALLBACK,
    ):
        leaks += [f"phone {s!r}" for s in spellings(number) if s in log]
    for name in (CLIENT[0], FAMILY[0], CASE_MANAGER[0], BACKUP[0], SUPERVISOR[0]):
        leaks += [f"name {part!r}" for part in name.split() if re.search(part, log, re.IGNORECASE)]
    for body in BODIES.values():
        marker = body.split()[0]
        leaks += [f"body {marker!r}" for _ in [1] if re.search(marker, log, re.IGNORECASE)]
    if leaks:
        lines = [
            line
            for line in log.splitlines()
            if any(re.search(re.escape(leak.split("'")[1]), line, re.IGNORECASE) for leak in leaks)
        ]
        pytest.fail(
            "PHI in the logs: " + ", ".join(sorted(set(leaks))) + "\n" + "\n".join(lines[:15])
        )
