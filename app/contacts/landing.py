"""On SQLite, where the webhook writes a text first: a file of its own.

A SQLite file has one writer at a time, and the router holds the main file's
write lock for every text it routes (~20 ms of Python on 2 cores: contact,
plan, events, notifications, one transaction). A webhook writing to the main
file waited for that: at 50 texts/s its p99 was 10-100 times a bare
endpoint's. So the webhook writes to this landing file, whose only other
writer is the router's brief hand-over, and Twilio's answer never waits on
routing. PostgreSQL has no such lock: there the webhook writes the inbox
table directly and this is not used.

The hand-over (`move_into`, at the start of every routing round) copies
landed texts into `inbox_message` in arrival order (one transaction, ON
CONFLICT DO NOTHING on MessageSid), then marks them moved here. A crash
between the two copies them again, which the conflict ignores: nothing is
lost or doubled. Moved rows stay a day, so a Twilio retry of a text already
handed over is still a duplicate here (the webhook says so), then go.

Its schema is Alembic's like the main database's, in a migration
environment of its own (alembic_landing/), upgraded when the file is first
used.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, event, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel.sql.sqltypes import UTCDateTime

from app.db import NAMING_CONVENTION, Database, SqliteWriteLock, insert_ignoring_duplicates

KEEP_MOVED = timedelta(days=1)
MOVE_BATCH = 500

landing_metadata = MetaData(naming_convention=NAMING_CONVENTION)
landed = Table(
    "landed_sms", landing_metadata,
    Column("id", Integer, primary_key=True),  # arrival order, kept by the hand-over
    Column("message_sid", String(64), nullable=False, unique=True),
    Column("to_number", String(20), nullable=False),
    Column("from_number", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("moved_at", UTCDateTime, nullable=True, index=True),
)

_LAND = insert_ignoring_duplicates(landed, key="message_sid",
                                   columns=["message_sid", "to_number", "from_number", "body", "received_at"])


class InboxLanding:
    def __init__(self, path: str, *, background: bool = False):
        self.path = path
        self.engine: Engine = create_engine(
            f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(self.engine, "connect", _pragmas)
        # Writers queue in the kernel, not in SQLite's sleeping busy handler
        # (see SqliteWriteLock): the webhook in front, the hand-over behind.
        self.write_lock = SqliteWriteLock(f"{path}.lock", background=background)
        self._created = False
        self._create_lock = threading.Lock()

    @classmethod
    def beside(cls, db: Database) -> "InboxLanding | None":
        """The landing file next to a SQLite database file (its writes give
        way like the database's do: the worker's to the webhook's); None on
        PostgreSQL and for databases not on a file of their own (tests that
        share one rolled-back connection, `:memory:`)."""
        bind = db.sessionmaker.kw.get("bind")
        if db.is_postgres or not isinstance(bind, Engine) or bind.url.database in (None, "", ":memory:"):
            return None
        background = db.write_lock.background if db.write_lock is not None else False
        return cls(f"{bind.url.database}-landing", background=background)

    def _ready(self) -> None:
        if self._created:
            return
        with self._create_lock, self.write_lock.held(), self.engine.begin() as connection:
            if not self._created:
                _create(connection)
                self._created = True

    def record(self, *, message_sid: str, to_number: str, from_number: str, body: str, now: datetime) -> bool:
        """The webhook's write. False when this MessageSid landed already
        (Twilio retried), whether or not it has been handed over since."""
        self._ready()
        row = dict(message_sid=message_sid, to_number=to_number, from_number=from_number, body=body, received_at=now)
        with self.write_lock.held(), self.engine.begin() as connection:
            return connection.execute(_LAND, row).rowcount == 1

    def waiting(self) -> int:
        """Landed and not yet handed over."""
        self._ready()
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(landed)
                                      .where(landed.c.moved_at.is_(None))).scalar_one()

    def move_into(self, db: Database, *, now: datetime) -> int:
        """Hand landed texts to the main inbox, oldest first. Returns how many."""
        self._ready()
        with self.engine.connect() as connection:  # a read: no lock, WAL reads beside the webhook's writes
            rows = connection.execute(
                select(landed.c.id, landed.c.message_sid, landed.c.to_number, landed.c.from_number,
                       landed.c.body, landed.c.received_at)
                .where(landed.c.moved_at.is_(None)).order_by(landed.c.id).limit(MOVE_BATCH)).all()
        if not rows:
            return 0
        from app.contacts.inbox import RECORD_SMS

        db.write_one(RECORD_SMS, [{"message_sid": r.message_sid, "to_number": r.to_number,
                              "from_number": r.from_number, "body": r.body, "received_at": r.received_at,
                              "attempts": 0} for r in rows])
        with self.write_lock.held(), self.engine.begin() as connection:
            connection.execute(update(landed).where(landed.c.id.in_([r.id for r in rows])).values(moved_at=now))
        return len(rows)

    def forget_moved(self, *, now: datetime) -> int:
        self._ready()
        with self.write_lock.held(), self.engine.begin() as connection:
            return connection.execute(landed.delete().where(landed.c.moved_at < now - KEEP_MOVED)).rowcount

    def close(self) -> None:
        self.engine.dispose()


def _pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _create(connection) -> None:
    from alembic import command
    from alembic.config import Config

    from app.migrations import ROOT

    config = Config()
    config.set_main_option("script_location", str(ROOT / "alembic_landing"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
