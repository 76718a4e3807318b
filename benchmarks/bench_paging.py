"""Page calls: 1,000 open contacts whose call rules fall due in the same second.

Each contact is open at level 1 with one pending call rule (a `page_step`
row, as a text's default rules leave it a minute after the text), all due at
the same instant D. The worker's escalation job (app.jobs.
escalation_tick: fire due rules, advance due contacts, kick the sender) runs
every ESCALATION_TICK_SECONDS on the wall clock, as APScheduler would; the
outbox sender runs in the background as in `crisisroute worker`, handing the
calls to a Twilio stand-in (Calls.json) over HTTP through twilio's client.

Lag of one call = when its request reached the stand-in − D. The goal: every
call handed to Twilio within a tick plus 1 s (p99 ≤ ESCALATION_TICK_SECONDS
+ 1 s). PostgreSQL only (several instances claim with SKIP LOCKED).

    python benchmarks/bench_paging.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from common import (  # noqa: E402
    PG_ADMIN_URL,
    TwilioStandIn,
    migrated_database,
    percentiles_line,
    pg_database,
    seed_world,
)

CONTACTS = int(os.environ.get("PAGING_BENCH_CONTACTS", "1000"))  # smaller only to try the script
SID = "AC" + "0" * 32


def _seed(database, world, due):
    """1,000 open contacts at level 1, each with one call rule due at `due`."""
    from sqlalchemy import select

    from app.contacts.models import Contact
    from app.escalation.models import PageStep

    cms = list(world.case_managers)
    numbers = list(world.clients.items())
    plan = [
        {
            "level": 1,
            "kind": "assigned",
            "label": "assigned case manager",
            "staff_ids": [cms[0]],
            "timeout_seconds": 300,
        }
    ]
    table = Contact.__table__
    columns = [c.name for c in table.columns if c.name != "id"]
    created = due - timedelta(seconds=60)
    with database.session() as session:
        rows = []
        for i in range(CONTACTS):
            number, client_id = numbers[i % len(numbers)]
            cm = cms[i % len(cms)]
            model = Contact(
                team_id=world.team_id,
                channel="sms",
                from_number=number,
                client_id=client_id,
                candidate_client_ids=[],
                caller_relation="self",
                status="open",
                priority="normal",
                plan=[{**plan[0], "staff_ids": [cm]}],
                level=1,
                # The level's own deadline is far off: only the call rules are due.
                next_escalation_at=due + timedelta(seconds=240),
                created_at=created,
                updated_at=created,
            )
            rows.append({name: getattr(model, name) for name in columns})
        session.execute(table.insert(), rows)
        ids = list(session.execute(select(Contact.id, Contact.plan).order_by(Contact.id)).all())
        session.execute(
            PageStep.__table__.insert(),
            [
                {
                    "contact_id": contact_id,
                    "staff_id": contact_plan[0]["staff_ids"][0],
                    "level": 1,
                    "purpose": "notify",
                    "position": 1,
                    "channel": "call",
                    "after_seconds": 60,
                    "due_at": due,
                    "status": "pending",
                    "message_id": None,
                    "fired_at": None,
                    "created_at": created,
                }
                for contact_id, contact_plan in ids
            ],
        )


def measure(database_url: str, answer_seconds: float) -> list[tuple[str, object]]:
    from app.db import utcnow
    from app.jobs import escalation_tick
    from app.logs import configure_logging
    from app.runtime import build_runtime
    from app.settings import load_settings

    configure_logging("WARNING", stream=sys.stderr)
    tick_seconds = float(os.environ.get("ESCALATION_TICK_SECONDS", "1"))
    stand_in = TwilioStandIn(answer_seconds=answer_seconds).start()
    settings = load_settings(
        database_url=database_url,
        messaging_transport="twilio",
        twilio_account_sid=SID,
        twilio_auth_token="bench-token",
        twilio_api_base_url=stand_in.url,
        run_worker=False,
        escalation_tick_seconds=tick_seconds,
        public_base_url="http://127.0.0.1:9",
    )
    database = migrated_database(database_url)
    world = seed_world(database, clients=CONTACTS)
    _seed(database, world, utcnow() + timedelta(hours=1))

    class State:
        pass

    state = State()
    state.runtime = build_runtime(settings, database)
    state.runtime.dispatcher.start_sending_in_background()
    # D is set once everything is ready (seeding 1,000 contacts takes seconds):
    # a few ticks run before it, as in a worker that has been up for a while.
    due = utcnow() + timedelta(seconds=3.5)
    with database.session() as session:
        from app.escalation.models import PageStep

        session.execute(PageStep.__table__.update().values(due_at=due))
    # Wall clock to monotonic, to compare with the stand-in's arrivals.
    offset = time.monotonic() - utcnow().timestamp()
    due_mono = due.timestamp() + offset
    ticks: list[float] = []
    next_run = time.monotonic()
    deadline = due_mono + 20
    try:
        while time.monotonic() < deadline:
            delay = next_run - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            started = time.monotonic()
            escalation_tick(state.runtime)
            ticks.append((started - due_mono, time.monotonic() - started))
            if len([a for a in stand_in.accepted if a.sid.startswith("CA")]) >= CONTACTS:
                break
            next_run += tick_seconds
            if next_run < time.monotonic():
                next_run = time.monotonic()
        time.sleep(0.5)
    finally:
        state.runtime.close()
        stand_in.stop()
        database.engine.dispose()
    calls = [a for a in stand_in.accepted if a.sid.startswith("CA")]
    lags = [(a.at - due_mono) * 1000 for a in calls]
    per_contact: dict[str, int] = {}
    for a in calls:
        per_contact[a.body] = per_contact.get(a.body, 0) + 1
    return [
        ("paging_database", "postgresql"),
        ("paging_contacts_due", CONTACTS),
        ("paging_tick_seconds", tick_seconds),
        ("paging_twilio_answer_ms", round(answer_seconds * 1000)),
        ("paging_send_concurrency", settings.twilio_send_concurrency),
        ("paging_calls_handed", len(calls)),
        ("paging_calls_doubled", sum(n - 1 for n in per_contact.values() if n > 1)),
        *percentiles_line("paging_call_lag", lags),
        ("paging_call_lag_max_ms", round(max(lags), 1) if lags else None),
        ("paging_call_lag_goal_ms", int(tick_seconds * 1000 + 1000)),
        # The first tick at or after D: when it started (after D) and how long it took.
        *_first_tick_after(ticks),
    ]


def _first_tick_after(ticks: list[tuple[float, float]]) -> list[tuple[str, object]]:
    after = [(start, took) for start, took in ticks if start >= 0]
    if not after:
        return []
    start, took = after[0]
    return [
        ("paging_first_tick_after_due_ms", round(start * 1000, 1)),
        ("paging_first_tick_took_ms", round(took * 1000, 1)),
    ]


def run(quick: bool = False, postgres: str | None = None, answer_seconds: float = 0.15):
    with pg_database("crisisroute_bench_proof_paging", postgres or PG_ADMIN_URL) as url:
        return measure(url, answer_seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=PG_ADMIN_URL, help="an admin URL of the server")
    parser.add_argument(
        "--answer-ms",
        type=float,
        default=150,
        help="how long the Twilio stand-in takes to answer each call (Twilio: ~100-300 ms)",
    )
    args = parser.parse_args()
    for name, value in run(postgres=args.postgres, answer_seconds=args.answer_ms / 1000):
        print(f"{name}: {value}", flush=True)
