"""Escalation lag with 10,000 open contacts.

10,000 open SMS contacts at level 1 whose deadlines (`next_escalation_at`)
fall due evenly over the team's 300 s acknowledgement window — the steady
state of a busy line. The worker's job (app.jobs.escalation_tick:
the engine's `tick`, then the dispatcher) runs every ESCALATION_TICK_SECONDS
on the wall clock, as APScheduler would run it (coalesced, never stacked).

Lag of one escalation = (wall-clock end of the tick that advanced it) −
its `next_escalation_at`. Measured from the tick's end, not its start, so a
slow tick shows up in full.
"""

from __future__ import annotations

import os
import random
import time
from datetime import timedelta

from common import migrated_database, percentiles_line, pg_database, seed_world

OPEN_CONTACTS = 10_000
WINDOW_SECONDS = 300  # the team's ack timeout: deadlines spread over it


def _plans(world):
    """The default plan for a client of each case manager (no rotas)."""
    from app.db import utcnow
    from app.routing import RoutingContext, StaffInfo, plan, plan_to_json

    staff = {
        sid: StaffInfo(id=sid, role="case_manager", active=True, sms_ok=True, available=True)
        for sid in (*world.case_managers, *world.backups)
    }
    staff.update(
        {
            sid: StaffInfo(id=sid, role="supervisor", active=True, sms_ok=True, available=True)
            for sid in world.supervisors
        }
    )
    backup = next(iter(world.backups))
    return {
        cm: plan_to_json(
            plan(
                RoutingContext(
                    client_assigned_id=cm,
                    client_backup_id=backup,
                    staff=staff,
                    on_call=(),
                    policy=None,
                    ack_timeout_seconds=WINDOW_SECONDS,
                    priority_timeout_seconds=120,
                    high_priority=False,
                    fallback_number=world.fallback,
                ),
                utcnow(),
            )
        )
        for cm in world.case_managers
    }


def _seed_contacts(database, world, base, clients_by_cm) -> dict[int, object]:
    """Bulk-insert the open contacts; returns {contact id: deadline}."""
    from sqlalchemy import select

    from app.contacts.models import Contact

    plans = _plans(world)
    cms = list(world.case_managers)
    rows = []
    order = list(range(OPEN_CONTACTS))
    random.Random(8).shuffle(order)  # deadlines not in id order
    for i in order:
        cm = cms[i % len(cms)]
        client_id, number = clients_by_cm[cm][i // len(cms) % len(clients_by_cm[cm])]
        due = base + timedelta(seconds=WINDOW_SECONDS * i / OPEN_CONTACTS)
        rows.append(
            {
                "team_id": world.team_id,
                "channel": "sms",
                "from_number": number,
                "client_id": client_id,
                "candidate_client_ids": [],
                "caller_relation": "self",
                "status": "open",
                "priority": "normal",
                "plan": plans[cm],
                "level": 1,
                "next_escalation_at": due,
                "created_at": base,
                "updated_at": base,
            }
        )
    table = Contact.__table__
    columns = [column.name for column in table.columns if column.name != "id"]
    with database.session() as session:
        # Built through the model, so that columns added later get their
        # defaults, and written by Core executemany: the ORM's insert runs the
        # contact's before_insert hook (a query for earlier contacts) 10,000
        # times, which made seeding half of a quick run.
        for start in range(0, len(rows), 2000):
            models = [Contact(**row) for row in rows[start : start + 2000]]
            session.execute(
                table.insert(),
                [{name: getattr(model, name) for name in columns} for model in models],
            )
        return dict(session.execute(select(Contact.id, Contact.next_escalation_at)).all())


def measure(quick: bool, database_url: str) -> list[tuple[str, object]]:
    import sys

    from sqlalchemy import select

    from app.contacts.models import ContactEvent
    from app.db import utcnow
    from app.jobs import escalation_tick
    from app.logs import configure_logging
    from app.messaging.senders import OutboxSender
    from app.runtime import build_runtime
    from app.settings import load_settings

    configure_logging("WARNING", stream=sys.stderr)  # as the server logs, away from the figures
    tick_seconds = float(os.environ.get("ESCALATION_TICK_SECONDS", "1"))
    run_seconds = 7 if quick else 60
    settings = load_settings(
        database_url=database_url,
        messaging_transport="outbox",
        run_worker=False,
        escalation_tick_seconds=tick_seconds,
        public_base_url="http://127.0.0.1:9",
    )
    database = migrated_database(database_url)
    world = seed_world(database, clients=1000)
    clients_by_cm: dict[int, list[tuple[int, str]]] = {}
    from app.clients.models import Client

    with database.session() as session:
        for cid, cm in session.execute(select(Client.id, Client.assigned_case_manager_id)):
            clients_by_cm.setdefault(cm, []).append((cid, None))
    phone_of = {cid: number for number, cid in world.clients.items()}
    clients_by_cm = {
        cm: [(cid, phone_of[cid]) for cid, _ in rows] for cm, rows in clients_by_cm.items()
    }
    base = utcnow() + timedelta(seconds=3)
    due = _seed_contacts(database, world, base, clients_by_cm)
    # Seeding 10,000 contacts takes seconds (10+ on a slow 2-core machine):
    # deadlines that fell due meanwhile made the first tick a backlog of
    # hundreds, and the figure measured the seeding. Shift the window so it
    # opens 3 s after seeding ends: the steady state the goal is about.
    shift = utcnow() + timedelta(seconds=3) - base
    if shift > timedelta(0):
        from sqlalchemy import bindparam, update

        from app.contacts.models import Contact

        due = {cid: at + shift for cid, at in due.items()}
        table = Contact.__table__
        # Computed here, not in SQL: SQLite keeps datetimes as text, and
        # `next_escalation_at + interval` there turned them into numbers.
        with database.session() as session:
            session.execute(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(next_escalation_at=bindparam("b_due")),
                [{"b_id": cid, "b_due": at} for cid, at in due.items()],
            )

    class State:
        pass

    state = State()
    state.runtime = build_runtime(settings, database, sender=OutboxSender())
    ticks: list[tuple[object, object]] = []  # (now given to tick, wall-clock end)
    clock_now = {}

    def now_for_tick():
        return clock_now["now"]

    state.runtime.clock = now_for_tick
    loop_start_wall = utcnow()
    start = time.monotonic()
    next_run = start
    try:
        while time.monotonic() - start < run_seconds:
            delay = next_run - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            clock_now["now"] = utcnow()
            escalation_tick(state.runtime)
            ticks.append((clock_now["now"], utcnow()))
            next_run += tick_seconds
            if next_run < time.monotonic():  # coalesce: a slow tick is skipped, never stacked
                next_run = time.monotonic()
    finally:
        state.runtime.close()
    with database.session() as session:
        events = session.execute(
            select(ContactEvent.contact_id, ContactEvent.at).where(ContactEvent.kind == "escalated")
        ).all()
    database.engine.dispose()

    ends = sorted(ticks)
    tick_end = {now.isoformat(): end for now, end in ends}
    last_now = ends[-1][0]
    # Contacts whose deadline fell inside the measured run, a full tick before its last tick.
    expected = {
        cid
        for cid, at in due.items()
        if loop_start_wall <= at <= last_now - timedelta(seconds=tick_seconds)
    }
    lags, twice, seen = [], 0, set()
    for contact_id, at in events:
        if contact_id in seen:
            twice += 1
        seen.add(contact_id)
        if contact_id in expected:
            end = tick_end.get(at.isoformat())
            if end is None:  # should not happen: every escalation comes from one of our ticks
                end = min((e for n, e in ends if n >= at), default=ends[-1][1])
            lags.append((end - due[contact_id]).total_seconds() * 1000)
    missed = len(expected - seen)
    tick_ms = [(end - now).total_seconds() * 1000 for now, end in ticks]
    return [
        ("escalation_open_contacts", OPEN_CONTACTS),
        ("escalation_tick_seconds", tick_seconds),
        ("escalation_measured", len(lags)),
        ("escalation_missed", missed),
        ("escalation_doubled", twice),
        *percentiles_line("escalation_lag", lags),
        ("escalation_lag_goal_ms", int(tick_seconds * 1000 + 500)),
        *percentiles_line("escalation_tick_duration", tick_ms),
    ]


def run(quick: bool, postgres: str | None = None) -> list[tuple[str, object]]:
    import tempfile

    started = time.monotonic()
    if postgres:
        with pg_database("crisisroute_bench_proof_escalation", postgres) as url:
            lines = [("escalation_database", "postgresql"), *measure(quick, url)]
    else:
        path = tempfile.mkdtemp(prefix="crisisroute-bench-esc-")
        lines = [
            ("escalation_database", "sqlite"),
            *measure(quick, f"sqlite:///{path}/escalation.db"),
        ]
    lines.append(("bench_escalation_seconds", round(time.monotonic() - started, 1)))
    return lines
