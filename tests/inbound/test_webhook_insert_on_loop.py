"""The PostgreSQL webhook's inbox insert made from the event loop itself
(`Database.write_one_on_loop`), and its way back to the thread-pool path
whenever it cannot be done there: nothing accepted is lost, nothing is
written twice, and a database gone away still gets its 503 within a second."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import psycopg
from sqlalchemy import select

from app.db import Database
from app.inbound.inbox import RECORD_SMS
from app.messaging.models import InboxMessage
from benchmarks.common import HOST, free_port

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def text(sid: str) -> dict:
    return dict(
        message_sid=sid,
        to_number="+19735550100",
        from_number="+12015550150",
        body="are you there",
        media=None,
        received_at=NOW,
        attempts=0,
    )


def recorded_rows(db: Database) -> list[tuple[str, str, datetime]]:
    with db.session() as session:
        return [
            tuple(r)
            for r in session.execute(
                select(
                    InboxMessage.message_sid, InboxMessage.body, InboxMessage.received_at
                ).order_by(InboxMessage.id)
            )
        ]


def test_a_text_is_inserted_from_the_loop_once_and_a_retry_is_a_duplicate(committed_pg):
    db = Database.from_url(committed_pg)

    async def twice() -> list[int | None]:
        try:
            return [
                await db.write_one_on_loop(RECORD_SMS, text("SM1")),
                await db.write_one_on_loop(RECORD_SMS, text("SM1")),
            ]
        finally:
            await db.close_on_loop()

    assert asyncio.run(twice()) == [1, 0]  # done on the loop (not None), the retry changed nothing
    assert recorded_rows(db) == [("SM1", "are you there", NOW)]
    db.engine.dispose()


def test_a_connection_that_died_idle_leaves_its_text_to_the_thread_path_and_the_pool_recovers(
    committed_pg,
):
    db = Database.from_url(committed_pg)
    database_name = committed_pg.rsplit("/", 1)[1]

    async def record(sid: str) -> int | None:
        """What the webhook does: the loop's insert, else `write_one` (in a thread there)."""
        on_loop = await db.write_one_on_loop(RECORD_SMS, text(sid))
        return on_loop if on_loop is not None else db.write_one(RECORD_SMS, text(sid))

    async def scenario() -> list:
        try:
            done_on_loop = await db.write_one_on_loop(RECORD_SMS, text("SM-before"))
            # A database restart, as the pool's idle connections see it.
            with psycopg.connect(committed_pg, autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database_name,),
                ).fetchone()[0]
            after = []
            for i in range(3):
                after.append(await db.write_one_on_loop(RECORD_SMS, text(f"SM-after-{i}")))
                # Whatever the loop could not write goes the thread path's way at once, as in the
                # webhook (after all three, a later text written on the loop would be recorded first).
                if after[-1] is None:
                    assert db.write_one(RECORD_SMS, text(f"SM-after-{i}")) == 1
            later = [await record(f"SM-later-{i}") for i in range(5)]
            return [done_on_loop, killed, after, later]
        finally:
            await db.close_on_loop()

    done_on_loop, killed, after, later = asyncio.run(scenario())
    assert done_on_loop == 1 and killed >= 1
    assert (
        set(after) <= {None, 1} and None in after
    )  # a dead connection is not an error for the webhook
    assert later == [1] * 5
    assert [sid for sid, _, _ in recorded_rows(db)] == (
        ["SM-before"] + [f"SM-after-{i}" for i in range(3)] + [f"SM-later-{i}" for i in range(5)]
    )
    db.engine.dispose()


def test_an_unreachable_database_is_left_to_the_thread_path_within_a_second():
    db = Database.from_url(f"postgresql://postgres@{HOST}:{free_port()}/crisisroute_nowhere")

    async def attempt() -> tuple[int | None, float]:
        started = time.monotonic()
        try:
            return await db.write_one_on_loop(RECORD_SMS, text("SM1")), time.monotonic() - started
        finally:
            await db.close_on_loop()

    result, seconds = asyncio.run(attempt())
    assert result is None and seconds < 1.0


def test_sqlite_is_not_written_from_the_loop(tmp_path):
    from app import migrations

    db = Database.from_url(f"sqlite:///{tmp_path / 'x.db'}")
    migrations.upgrade(db.engine)
    assert asyncio.run(db.write_one_on_loop(RECORD_SMS, text("SM1"))) is None
    assert recorded_rows(db) == []
