"""Signed inbound SMS through a real `crisisroute serve` subprocess.

- webhook latency at a fixed offered load (open loop), against a bare FastAPI
  endpoint started the same way in the same run → `webhook_p99_ratio`;
- time from the webhook's send to the first staff message reaching the
  Twilio stand-in → `notify_p99_ms`;
- sustained SMS per second on PostgreSQL with no errors → `sms_per_s_postgres`.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections import Counter

from common import (
    Server,
    TwilioStandInProcess,
    client_number,
    closed_loop,
    load_generator_priority,
    migrated_database,
    open_loop,
    percentile,
    percentiles_line,
    pg_database,
    pg_reachable,
    seed_world,
    sms_params,
    wait_until,
)

RATE = 50.0  # offered webhooks per second
# How long the Twilio stand-in takes to answer a Messages create, as Twilio's
# API does (~100-300 ms). An instant stand-in hid that the worker waited for
# each batch of sends before routing the next texts (notify p99 0.4 s with an
# instant answer, 14 s with this one, before the worker sent in the background).
TWILIO_ANSWER_MS = 150


def _requests(
    world, numbers: list[str], body: str = "I need to talk to someone"
) -> list[tuple[str, dict]]:
    return [(n, sms_params(n, world.line, body)) for n in numbers]


def _load(server: Server, requests, rate: float, max_seconds: float):
    # The generator's own garbage collection, not the server, paused a request by 30-65 ms at
    # random (the benchmark's process holds the seeded world): collected before, none during.
    gc.collect()
    gc.disable()
    try:
        return asyncio.run(
            open_loop(
                base_url=server.url,
                path="/twilio/sms",
                requests=requests,
                rate=rate,
                max_seconds=max_seconds,
            )
        )
    finally:
        gc.enable()


def _latencies_ms(results) -> list[float]:
    return [r.latency * 1000 for r in results if r.status == 200]


def _errors(results) -> int:
    return sum(1 for r in results if r.status != 200)


def webhook_latency(
    quick: bool,
    database_url: str | None = None,
    *,
    rounds: int | None = None,
    per_block: int | None = None,
) -> list[tuple[str, object]]:
    """The bare endpoint and crisisroute at the same offered load, measured in
    alternating blocks (bare, app, app, bare, bare, app, …) with the server
    not being measured paused (SIGSTOP), then the staff-notification latency
    of crisisroute's blocks. Alternating, because these VMs drift: the same
    code measured minutes apart differed by more than the goal's margin, and
    a bare endpoint measured only before the app compared two machines."""
    rounds = rounds or (2 if quick else 6)
    per_block = per_block or (125 if quick else 400)
    n = rounds * per_block
    warm = 30
    lines: list[tuple[str, object]] = [
        ("webhook_offered_rps", RATE),
        ("webhook_requests", n),
        ("webhook_rounds", rounds),
        ("twilio_answer_ms", TWILIO_ANSWER_MS),
    ]
    stand_in = TwilioStandInProcess(answer_seconds=TWILIO_ANSWER_MS / 1000).start()
    servers: list[Server] = []
    bare_results: list = []
    results: list = []
    by_round: list[tuple[float, float]] = []
    cpu_seconds = web_cpu_seconds = 0.0
    try:
        # Bare FastAPI endpoint, same uvicorn call and flags.
        bare = Server(kind="bare")
        servers.append(bare)
        bare.start()
        fake = type("W", (), {"line": "+19735550100"})()
        _load(bare, _requests(fake, [client_number(900000 + i) for i in range(warm)]), RATE, 10)
        bare.pause()

        # crisisroute serve, with its worker children.
        app = Server(database_url=database_url, twilio_url=stand_in.url)
        servers.append(app)
        database = migrated_database(app.env["DATABASE_URL"])
        world = seed_world(database, clients=n + warm)
        database.engine.dispose()
        app.start()
        numbers = list(world.clients)
        _load(app, _requests(world, numbers[:warm]), RATE, 10)
        # Steady state: the worker child is up and has routed the warm-up texts
        # (a server that has been running; its start-up is not the figure).
        wait_until(lambda: _pending(database) == 0, timeout=30, interval=0.1)
        measured = numbers[warm : warm + n]
        staff = world.staff_phones

        def first_staff_message(wanted: set[str]) -> dict[str, tuple[float, str]]:
            """Each sender's first staff message at the stand-in: (when, its first word)."""
            first: dict[str, tuple[float, str]] = {}
            for arrival in stand_in.accepted:
                if arrival.to not in staff:
                    continue
                for number in wanted & set(_numbers_in(arrival.body)):
                    if number not in first or arrival.at < first[number][0]:
                        first[number] = (arrival.at, arrival.body.split(" ", 1)[0])
            return first

        def measure_bare(index: int) -> list:
            bare.resume()
            block = _load(
                bare,
                _requests(
                    fake, [client_number(910000 + index * per_block + i) for i in range(per_block)]
                ),
                RATE,
                per_block / RATE + 20,
            )
            bare.pause()
            return block

        def measure_app(index: int) -> list:
            nonlocal cpu_seconds, web_cpu_seconds
            block_numbers = measured[index * per_block : (index + 1) * per_block]
            app.resume()
            cpu_before, web_cpu_before = app.cpu_seconds(), app.cpu_seconds(children=False)
            block = _load(app, _requests(world, block_numbers), RATE, per_block / RATE + 20)
            # Routed and notified before the pause: a paused worker would add its pause to notify.
            wait_until(
                lambda: len(first_staff_message(set(block_numbers))) >= len(block_numbers),
                timeout=30,
                interval=0.1,
            )
            wait_until(lambda: _pending(database) == 0, timeout=10, interval=0.1)
            # Everything the server spent on these texts: webhook, routing, dispatch of 2 SMS each, ticks;
            # and the web process's part of it (what stands between Twilio and its answer).
            cpu_seconds += app.cpu_seconds() - cpu_before
            web_cpu_seconds += app.cpu_seconds(children=False) - web_cpu_before
            app.pause()
            return block

        app.pause()
        with load_generator_priority() as loadgen_nice:
            for index in range(rounds):
                # bare-app, app-bare, …: neither always runs first in a round.
                if index % 2 == 0:
                    bare_block = measure_bare(index)
                    app_block = measure_app(index)
                else:
                    app_block = measure_app(index)
                    bare_block = measure_bare(index)
                bare_results += bare_block
                results += app_block
                by_round.append(
                    (
                        percentile(_latencies_ms(app_block), 99),
                        percentile(_latencies_ms(bare_block), 99),
                    )
                )
        app.resume()
        cpu_ms_per_sms = cpu_seconds * 1000 / n
        web_cpu_ms_per_sms = web_cpu_seconds * 1000 / n
        first = first_staff_message(set(measured))
        due = {r.key: r.scheduled for r in results}
        notify_ms = [(at - due[k]) * 1000 for k, (at, _) in first.items() if k in due]
        kinds = sorted({kind for _, kind in first.values()})
        waits = _routing_waits_ms(database, set(measured))
        app.stop()
        errors_logged = [line for line in app.log_text().splitlines() if '"level": "error"' in line]
        if errors_logged:
            lines.append(("webhook_server_errors_logged", len(errors_logged)))
            print("server errors:\n" + "\n".join(errors_logged[:5]), file=sys.stderr)
    finally:
        for server in servers:
            server.stop()
        stand_in.stop()

    bare_ms, web_ms = _latencies_ms(bare_results), _latencies_ms(results)
    lines.append(("loadgen_nice", loadgen_nice))
    lines += percentiles_line("bare", bare_ms)
    lines.append(("bare_errors", _errors(bare_results)))
    lines += percentiles_line("webhook", web_ms)
    lines.append(("webhook_errors", _errors(results)))
    lines.append(("webhook_server_cpu_ms_per_sms", round(cpu_ms_per_sms, 1)))
    lines.append(("webhook_web_process_cpu_ms_per_sms", round(web_cpu_ms_per_sms, 2)))
    bare_p99 = percentile(bare_ms, 99)
    lines.append(
        ("webhook_p99_ratio", round(percentile(web_ms, 99) / bare_p99, 2) if bare_p99 else "n/a")
    )
    # Each round's own ratio (its blocks are a few seconds apart): how much one block's p99 moves.
    lines.append(("webhook_p99_ratio_by_round", " ".join(f"{w / b:.2f}" for w, b in by_round)))
    lines += percentiles_line("notify", notify_ms, which=(50, 99))
    # Where the notify time went: waiting in the inbox to be routed, then
    # from being queued by routing to being handed to Twilio.
    lines += percentiles_line("notify_inbox_wait", waits["inbox"], which=(50, 99))
    lines += percentiles_line("notify_outbox_wait", waits["outbox"], which=(50, 99))
    lines.append(("notify_delivered", f"{len(first)}/{len(measured)}"))
    # CRISIS/URGENT: a real notification; UNANSWERED: routing fell back to the
    # external fallback and only the supervisors' alert went out.
    lines.append(("notify_first_message_kind", "+".join(kinds) or "none"))
    return lines


def _routing_waits_ms(database, numbers: set[str]) -> dict[str, list[float]]:
    from sqlalchemy import select

    from app.contacts.models import Contact
    from app.messaging.models import InboxMessage, OutboundMessage

    with database.session() as session:
        inbox = session.execute(
            select(
                InboxMessage.from_number, InboxMessage.received_at, InboxMessage.processed_at
            ).where(InboxMessage.processed_at.is_not(None))
        ).all()
        # The measured texts' notifications only (not the warm-up's, sent while the sender started).
        outbox = session.execute(
            select(Contact.from_number, OutboundMessage.created_at, OutboundMessage.updated_at)
            .join(Contact, Contact.id == OutboundMessage.contact_id)
            .where(OutboundMessage.purpose == "notify", OutboundMessage.status != "pending")
        ).all()
    database.engine.dispose()
    return {
        "inbox": [(p - r).total_seconds() * 1000 for n, r, p in inbox if n in numbers],
        "outbox": [(u - c).total_seconds() * 1000 for n, c, u in outbox if n in numbers],
    }


def _numbers_in(text: str) -> list[str]:
    from common import E164

    return E164.findall(text)


def sms_throughput_postgres(quick: bool, admin_url: str | None = None) -> list[tuple[str, object]]:
    """Closed loop at concurrency 32: how many signed inbound SMS per second
    one `crisisroute serve` takes on PostgreSQL, every one answered 200 and
    in the inbox (`sms_per_s_postgres`); then how fast its worker routes them
    (each: contact opened, auto-reply and notification queued and handed to
    the Twilio stand-in), measured in the database from the first text's
    arrival to the last one routed (`sms_routed_per_s_postgres`)."""
    from common import PG_ADMIN_URL

    admin_url = admin_url or PG_ADMIN_URL
    why = pg_reachable(admin_url)
    if why:
        return [("sms_per_s_postgres", f"skipped (PostgreSQL not reachable at {admin_url}: {why})")]
    seconds = 4 if quick else 30
    drain_seconds = 3 if quick else 240
    warm = 50 if quick else 100
    pool = 4500 if quick else 32000  # more than the burst takes on 2 cores (seen: ~1,000 a second)
    concurrency = 32
    stand_in = TwilioStandInProcess(answer_seconds=TWILIO_ANSWER_MS / 1000).start()
    server = None
    try:
        with pg_database("crisisroute_bench_proof", admin_url) as url:
            database = migrated_database(url)
            world = seed_world(database, clients=pool + 100)
            server = Server(database_url=url, twilio_url=stand_in.url)
            server.start()
            numbers = list(world.clients)
            asyncio.run(
                closed_loop(
                    base_url=server.url,
                    path="/twilio/sms",
                    requests=_requests(world, numbers[:warm]),
                    concurrency=concurrency,
                    max_seconds=10,
                )
            )
            wait_until(lambda: _inbox(database)["pending"] == 0, timeout=30, interval=0.2)
            warm_ids = _inbox(database)["max_id"]
            cpu_before, web_cpu_before = server.cpu_seconds(), server.cpu_seconds(children=False)
            results = asyncio.run(
                closed_loop(
                    base_url=server.url,
                    path="/twilio/sms",
                    requests=_requests(world, numbers[warm:]),
                    concurrency=concurrency,
                    max_seconds=seconds,
                )
            )
            web_cpu_ms = (server.cpu_seconds(children=False) - web_cpu_before) * 1000
            # The worker's own pace, once the burst is over (during it, it yields the CPU to webhooks).
            burst_over, routed_then = (
                time.monotonic(),
                _inbox(database, after_id=warm_ids)["routed"],
            )
            drained = wait_until(
                lambda: _inbox(database)["pending"] == 0, timeout=drain_seconds, interval=0.25
            )
            cpu_ms = (server.cpu_seconds() - cpu_before) * 1000
            inbox = _inbox(database, after_id=warm_ids)
            after_burst = (inbox["routed"] - routed_then) / (time.monotonic() - burst_over)
            server.stop()
            database.engine.dispose()
    finally:
        if server:
            server.stop()
        stand_in.stop()
    ok = [r for r in results if r.status == 200]
    errors = len(results) - len(ok)
    span = max(r.done for r in results) - min(r.sent for r in results) if results else 0
    rate = round(len(ok) / span, 1) if span else 0
    lines: list[tuple[str, object]] = [
        ("sms_per_s_postgres", rate if errors == 0 else f"{rate} (with {errors} errors)"),
        ("sms_postgres_requests", len(results)),
        ("sms_postgres_errors", errors),
        *(
            [
                (
                    "sms_postgres_error_kinds",
                    dict(Counter(f"{r.status or r.error}" for r in results if r.status != 200)),
                )
            ]
            if errors
            else []
        ),
        # Every 200 must be a row in the inbox: an accepted text is never lost.
        ("sms_postgres_accepted_not_in_inbox", len(ok) - inbox["recorded"]),
        ("sms_postgres_concurrency", concurrency),
        # Texts routed a second by the worker after the burst (contact opened, auto-reply and
        # notification queued and handed to the stand-in), and over the whole run.
        ("sms_routed_per_s_postgres", round(after_burst, 1)),
        ("sms_routed_per_s_postgres_whole_run", inbox["routed_per_s"]),
        (
            "sms_postgres_routed",
            f"{inbox['routed']}/{inbox['recorded']}"
            + ("" if drained else f" (backlog left after {drain_seconds} s)"),
        ),
        ("sms_postgres_routing_failed", inbox["failed"]),
        # Load-independent costs: the web process's per text (the webhook), and the
        # whole server's (webhook + routing + 2 sends) over the run and the drain.
        (
            "sms_postgres_web_cpu_ms_per_sms",
            round(web_cpu_ms / len(results), 2) if results else "n/a",
        ),
        ("sms_postgres_server_cpu_ms_per_sms", round(cpu_ms / max(1, inbox["routed"]), 1)),
    ]
    lines += percentiles_line("sms_postgres", [r.latency * 1000 for r in ok], which=(50, 99))
    return lines


def _pending(database) -> int:
    """Texts not yet routed: in the inbox, and (SQLite) still in the landing file."""
    from app.inbound.inbox import pending_count
    from app.inbound.landing import InboxLanding

    with database.session() as session:
        count = pending_count(session)
    landing = InboxLanding.beside(database)
    if landing is not None:
        count += landing.waiting()
        landing.close()
    return count


def _inbox(database, after_id: int = 0) -> dict:
    from sqlalchemy import text

    with database.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*), count(processed_at), count(*) FILTER (WHERE outcome = 'failed'), "
                "min(received_at), max(processed_at), coalesce(max(id), 0), count(*) FILTER (WHERE processed_at IS NULL) "
                "FROM inbox_message WHERE id > :after"
            ),
            {"after": after_id},
        ).one()
    recorded, routed, failed, first, last, max_id, pending = row
    span = (last - first).total_seconds() if first and last else 0
    return {
        "recorded": recorded,
        "routed": routed,
        "failed": failed,
        "max_id": max_id,
        "pending": pending,
        "routed_per_s": round(routed / span, 1) if span else 0,
    }


def run(quick: bool, postgres: str | None = None):
    """`postgres`: an admin URL; when given, the latency run uses its own
    database there (crisisroute_bench_proof) instead of SQLite."""
    started = time.monotonic()
    if postgres:
        with pg_database("crisisroute_bench_proof", postgres) as url:
            lines = [("webhook_database", "postgresql"), *webhook_latency(quick, url)]
    else:
        lines = [("webhook_database", "sqlite"), *webhook_latency(quick)]
    lines += sms_throughput_postgres(quick, postgres)
    lines.append(("bench_webhook_seconds", round(time.monotonic() - started, 1)))
    return lines
