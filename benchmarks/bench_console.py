"""The console's two heaviest pages through a real `crisisroute serve`
subprocess (no worker), against a bare Jinja2 page served the same way by a
bare FastAPI app:

- the board (`GET /console`) with 500 open contacts (it shows the newest
  200: app.console.board.BOARD_LIMIT), signed in as the team's supervisor;
- the contact page (`GET /console/contacts/{id}`) of a contact whose
  conversation holds 200 messages (100 each way), with its crisis plan.

Server time is what each server's own request middleware measured (the
app's `request` log line, `ms`; the bare app logs the same way), requests
one at a time over one keep-alive connection, the two servers measured in
alternating blocks with the other one paused (SIGSTOP), as bench_webhook
does. Printed: p50/p95/p99 of each, the ratio of p95s, and the client-side
latency (request sent to last byte read) as a cross-check.

    python benchmarks/bench_console.py [--quick] [--postgres ADMIN_URL]

SQLite always; PostgreSQL too with `--postgres` (its own database
crisisroute_bench_proof_console, created and dropped).
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.requests import Request  # module level: FastAPI resolves the annotation here

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from common import (  # noqa: E402 - the path above makes these importable
    HOST,
    Server,
    migrated_database,
    percentile,
    pg_database,
    pg_reachable,
    seed_world,
)

OPEN_CONTACTS = 500
CONVERSATION_MESSAGES = 200
BOARD_GOAL_P95_MS = 100.0
PG_NAME = "crisisroute_bench_proof_console"


# ------------------------------------------------------------ the bare page


def bare_page_app():
    """One Jinja2 template (autoescape, a title, a heading and a short list)
    rendered per request by FastAPI's Jinja2Templates, with a request-timing
    middleware logging as the app's does."""
    import jinja2
    from fastapi import FastAPI
    from fastapi.templating import Jinja2Templates

    template = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>{{ title }}</title></head><body><main><h1>{{ title }}</h1><ul>"
        "{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul></main></body></html>"
    )
    env = jinja2.Environment(loader=jinja2.DictLoader({"page.html": template}), autoescape=True)
    templates = Jinja2Templates(env=env)
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/page")
    def page(request: Request):
        return templates.TemplateResponse(
            request, "page.html", {"title": "Bare page", "items": [f"item {i}" for i in range(10)]}
        )

    return _timed(app)


def _timed(app):
    """Logs `{"event": "request", "route": path, "ms": …}` per request, as
    app.ops.middleware does for the app (time inside the ASGI app)."""

    async def timed(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await app(scope, receive, send)
        finally:
            ms = round((time.perf_counter() - started) * 1000, 2)
            print(json.dumps({"event": "request", "route": scope["path"], "ms": ms}), flush=True)

    return timed


class BarePageServer(Server):
    def __init__(self):
        super().__init__(kind="bare")

    @property
    def command(self) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), "bare", "--port", str(self.port)]


# ------------------------------------------------------------ seeding


def seed(database) -> dict:
    """A team (bench_common's world), 500 live contacts (open, acknowledged,
    unanswered), each with the caller's text and its page, and one more with
    a 200-message conversation and a crisis plan; a console session for the
    team's supervisor."""
    from app.auth.sessions import start_session
    from app.clients.models import PLAN_SECTIONS, CrisisPlan
    from app.contacts.models import Contact, ContactEvent
    from app.messaging.models import OutboundMessage

    world = seed_world(database, clients=OPEN_CONTACTS + 1)
    cm_ids = list(world.case_managers)
    supervisor_id = next(iter(world.supervisors))
    backup_id = next(iter(world.backups))
    now = datetime.now(UTC)
    clients = list(world.clients.items())
    statuses = ("open", "acknowledged", "unanswered")
    with database.session() as session:
        contacts = []
        for i in range(OPEN_CONTACTS + 1):
            number, client_id = clients[i]
            status = statuses[i % 3] if i < OPEN_CONTACTS else "acknowledged"
            at = now - timedelta(minutes=OPEN_CONTACTS - i)
            cm = cm_ids[i % len(cm_ids)]
            contacts.append(
                Contact(
                    team_id=world.team_id,
                    channel="sms",
                    from_number=number,
                    client_id=client_id,
                    status=status,
                    plan=[
                        {"label": "Case manager", "staff_ids": [cm]},
                        {"label": "Backup", "staff_ids": [backup_id]},
                        {"label": "Supervisors", "staff_ids": [supervisor_id]},
                    ],
                    level=1,
                    acknowledged_by=cm if status == "acknowledged" else None,
                    acknowledged_at=at if status == "acknowledged" else None,
                    created_at=at,
                    updated_at=at,
                )
            )
        session.add_all(contacts)
        session.flush()
        events = []
        for i, contact in enumerate(contacts):
            events.append(
                ContactEvent(
                    contact_id=contact.id,
                    at=contact.created_at,
                    kind="received",
                    data={"body": f"I need to talk to someone, text {i}"},
                )
            )
            events.append(
                ContactEvent(
                    contact_id=contact.id,
                    at=contact.created_at,
                    kind="notified",
                    staff_id=contact.plan[0]["staff_ids"][0],
                    level=1,
                )
            )
        talk = contacts[-1]
        holder = talk.acknowledged_by
        outbound = []
        for i in range(CONVERSATION_MESSAGES // 2):
            at = talk.created_at + timedelta(seconds=10 * i)
            events.append(
                ContactEvent(
                    contact_id=talk.id,
                    at=at,
                    kind="received",
                    data={"body": f"Message {i} from the caller: it is hard tonight, still here."},
                )
            )
            outbound.append(
                OutboundMessage(
                    team_id=world.team_id,
                    contact_id=talk.id,
                    staff_id=holder,
                    purpose="relay",
                    to_number=talk.from_number,
                    from_number=world.line,
                    body=f"Reply {i}: I hear you. I'm staying on with you. What would help now?",
                    status="delivered",
                    next_attempt_at=None,
                    created_at=at + timedelta(seconds=5),
                    updated_at=at + timedelta(seconds=6),
                )
            )
        session.add_all(events)
        session.add_all(outbound)
        session.add(
            CrisisPlan(
                client_id=talk.client_id,
                version=1,
                sections={name: [f"{name} one", f"{name} two"] for name in PLAN_SECTIONS},
                notes="Calls his sister first.",
                preferred_hospital="St. Mary's",
            )
        )
        token = start_session(session=session, now=now, staff_id=supervisor_id)
        session.commit()
        talk_id = talk.id
    if database.is_postgres:
        from sqlalchemy import text

        with database.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    return {"token": token, "contact_id": talk_id}


# ------------------------------------------------------------ measuring


def _server_ms(server: Server, route: str, skip: int) -> list[float]:
    """The `ms` of each logged request to `route`, after the first `skip`."""
    values = []
    for line in server.log_text().splitlines():
        if '"request"' not in line or route not in line:
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if row.get("event") == "request" and row.get("route") == route:
            values.append(float(row["ms"]))
    return values[skip:]


def _get(server: Server, path: str, count: int, cookie: str | None) -> list[float]:
    """`count` GETs one after the other on one connection; client-side ms each."""
    connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    latencies = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
    finally:
        gc.enable()
        connection.close()
    return latencies


def _stats(prefix: str, values: list[float]) -> list[tuple[str, object]]:
    return [(f"{prefix}_p{q}_ms", round(percentile(values, q), 1)) for q in (50, 95, 99)]


def measure(label: str, database_url: str | None, quick: bool) -> list[tuple[str, object]]:
    rounds = 2 if quick else 4
    per_block = 25 if quick else 60
    warm = 5
    bare = BarePageServer()
    app = Server(database_url=database_url, extra_args=["--no-worker"])
    servers = [bare, app]
    lines: list[tuple[str, object]] = []
    try:
        database = migrated_database(app.env["DATABASE_URL"])
        seeded = seed(database)
        database.engine.dispose()
        cookie = f"cr_session={seeded['token']}"
        contact_path = f"/console/contacts/{seeded['contact_id']}"
        bare.start()
        app.start()
        _get(bare, "/page", warm, None)
        _get(app, "/console", warm, cookie)
        _get(app, contact_path, warm, cookie)
        client: dict[str, list[float]] = {"bare": [], "board": [], "contact": []}
        app.pause()
        bare.pause()
        for index in range(rounds):
            order = ("bare", "app") if index % 2 == 0 else ("app", "bare")
            for which in order:
                if which == "bare":
                    bare.resume()
                    client["bare"] += _get(bare, "/page", per_block, None)
                    bare.pause()
                else:
                    app.resume()
                    client["board"] += _get(app, "/console", per_block, cookie)
                    client["contact"] += _get(app, contact_path, per_block, cookie)
                    app.pause()
        bare.resume()
        app.resume()
        timed = {
            "bare": _server_ms(bare, "/page", warm),
            "board": _server_ms(app, "/console", warm),
            "contact": _server_ms(app, "/console/contacts/{contact_id}", warm),
        }
        p95_bare = percentile(timed["bare"], 95)
        lines += [
            (f"console_{label}_open_contacts", OPEN_CONTACTS),
            (f"console_{label}_conversation_messages", CONVERSATION_MESSAGES),
            (f"console_{label}_requests_each", rounds * per_block),
        ]
        for name in ("bare", "board", "contact"):
            lines += _stats(f"console_{label}_{name}_server", timed[name])
        for name in ("board", "contact"):
            lines.append(
                (
                    f"console_{label}_{name}_p95_ratio",
                    round(percentile(timed[name], 95) / p95_bare, 1),
                )
            )
        for name in ("bare", "board", "contact"):
            lines += _stats(f"console_{label}_{name}_client", client[name])
        board_p95 = percentile(timed["board"], 95)
        lines.append(
            (
                f"console_{label}_board_goal",
                f"p95 {board_p95:.1f} ms {'<' if board_p95 < BOARD_GOAL_P95_MS else '>='} "
                f"{BOARD_GOAL_P95_MS:.0f} ms",
            )
        )
    finally:
        for server in servers:
            server.stop()
    return lines


def run(quick: bool, postgres: str | None = None) -> list[tuple[str, object]]:
    lines: list[tuple[str, object]] = [("console_loadavg_1m", round(os.getloadavg()[0], 2))]
    lines += measure("sqlite", None, quick)
    if postgres:
        why = pg_reachable(postgres)
        if why:
            lines.append(("console_postgres_skipped", why))
        else:
            with pg_database(PG_NAME, postgres) as url:
                lines += measure("postgres", url, quick)
    lines.append(("console_loadavg_1m_at_end", round(os.getloadavg()[0], 2)))
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", nargs="?", choices=["bare"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL admin URL")
    args = parser.parse_args(argv)
    if args.what == "bare":
        import uvicorn

        # The same uvicorn call and flags as `crisisroute serve`.
        uvicorn.run(bare_page_app(), host=HOST, port=args.port, log_config=None, access_log=False)
        return 0
    print(f"cores: {os.cpu_count()}", flush=True)
    for name, value in run(args.quick, args.postgres):
        print(f"{name}: {value}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
