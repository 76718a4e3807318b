"""On SQLite, where the webhook writes a text first: a file of its own.

A SQLite file has one writer at a time, and the router holds the main file's
write lock for every text it routes (~20 ms of Python on 2 cores: contact,
plan, events, notifications, one transaction). A webhook writing to the main
file would wait for that, its p99 many times a bare endpoint's at 50 texts/s
(docs/adr/0004-sqlite-landing-file.md has the figures). So the webhook writes to this landing file, whose only other
writer is the router's brief hand-over, and Twilio's answer never waits on
routing. PostgreSQL has no such lock: there the webhook writes the inbox
table directly and this is not used.

The hand-over (`move_into`, at the start of every routing round) copies
landed texts into `inbox_message` in arrival order (one transaction, ON
CONFLICT DO NOTHING on MessageSid), then marks them moved here, about once
a second. A crash between the two copies them again, which the conflict
ignores: nothing is lost or doubled. Moved rows stay a day, so a Twilio retry of a text already
handed over is still a duplicate here (the webhook says so), then go.

Its schema is Alembic's like the main database's, in a migration
environment of its own (landing_migrations/ beside this module), upgraded
when the file is first used.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlmodel.sql.sqltypes import UTCDateTime

from app.db import (
    NAMING_CONVENTION,
    Database,
    SqliteWriteLock,
    insert_ignoring_duplicates,
    table_of,
)
from app.inbound.message import InboundSms
from app.messaging.models import InboxMessage

LANDING_MIGRATIONS = Path(__file__).resolve().parent / "landing_migrations"
KEEP_MOVED = timedelta(days=1)
MOVE_BATCH = 500
# How often the hand-over marks what it copied as moved while texts keep
# coming (and at once when none came since its last look). Each mark is a
# write to this file, which a webhook arriving meanwhile waits for: marking
# every routing round (20 a second) put that wait in the webhook's p99.
MARK_EVERY_SECONDS = 1.0
# The webhook's connection leaves checkpoints (copying the log back into the
# file, with an fsync) to the hand-over, which runs one after each mark; this
# many pages of log (4 KiB each) and the webhook does it after all.
WEBHOOK_CHECKPOINT_PAGES = 20000

landing_metadata = MetaData(naming_convention=NAMING_CONVENTION)
landed = Table(
    "landed_sms",
    landing_metadata,
    Column("id", Integer, primary_key=True),  # arrival order, kept by the hand-over
    Column("message_sid", String(64), nullable=False, unique=True),
    Column("to_number", String(20), nullable=False),
    Column("from_number", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("media", JSON, nullable=True),  # an MMS's attachments (landing_0002)
    Column("received_at", UTCDateTime, nullable=False),
    Column("moved_at", UTCDateTime, nullable=True, index=True),
)

# The inbox's insert: the webhook's on PostgreSQL, the hand-over's from here on SQLite.
RECORD_SMS = insert_ignoring_duplicates(
    table_of(InboxMessage),
    key="message_sid",
    columns=[
        "message_sid",
        "to_number",
        "from_number",
        "body",
        "media",
        "received_at",
        "attempts",
    ],
)

_LAND = insert_ignoring_duplicates(
    landed,
    key="message_sid",
    columns=["message_sid", "to_number", "from_number", "body", "media", "received_at"],
)


class InboxLanding:
    def __init__(self, path: str, *, background: bool = False):
        self.path = path
        self.engine: Engine = create_engine(
            f"sqlite:///{path}",
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,
        )
        event.listen(self.engine, "connect", _pragmas if background else _webhook_pragmas)
        # Copied into the inbox and not yet marked moved here (see MARK_EVERY_SECONDS):
        # rows up to this id, the first of them copied at `_copied_at`.
        self._copied_up_to = 0
        self._copied_at: datetime | None = None
        self._last_mark = time.monotonic()
        # Writers queue in the kernel, not in SQLite's sleeping busy handler
        # (see SqliteWriteLock): the webhook in front, the hand-over behind.
        self.write_lock = SqliteWriteLock(f"{path}.lock", background=background)
        self._created = False
        self._create_lock = threading.Lock()

    @classmethod
    def beside(cls, db: Database) -> InboxLanding | None:
        """The landing file next to a SQLite database file (its writes give
        way like the database's do: the worker's to the webhook's); None on
        PostgreSQL and for databases not on a file of their own (tests that
        share one rolled-back connection, `:memory:`)."""
        bind = db.sessionmaker.kw.get("bind")
        if (
            db.is_postgres
            or not isinstance(bind, Engine)
            or bind.url.database in (None, "", ":memory:")
        ):
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

    def record(self, sms: InboundSms, *, now: datetime) -> bool:
        """The webhook's write. False when this MessageSid landed already
        (Twilio retried), whether or not it has been handed over since."""
        self._ready()
        with self.write_lock.held(), self.engine.begin() as connection:
            return connection.execute(_LAND, sms.row(now)).rowcount == 1

    def record_without_waiting(self, sms: InboundSms, *, now: datetime) -> bool | None:
        """`record`, on the web process's event loop itself, when that cannot
        wait: the file is ready and nobody holds its write lock (the
        hand-over holds it for a moment now and then). None: not written,
        call `record` from a thread. Handing the write to a thread and the
        answer back costs two thread wake-ups, each a wait for a core when
        the router and sender keep both busy: the webhook's p99 at 50 texts/s
        was 2-3 times the bare endpoint's."""
        if not self._created:
            return None
        with self.write_lock.held_if_free() as held:
            if not held:
                return None
            with self.engine.begin() as connection:
                return connection.execute(_LAND, sms.row(now)).rowcount == 1

    def waiting(self) -> int:
        """Landed and not yet handed over."""
        self._ready()
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(landed).where(landed.c.moved_at.is_(None))
            ).scalar_one()

    def move_into(self, db: Database, *, now: datetime) -> int:
        """Hand landed texts to the main inbox, oldest first. Returns how many.

        They are marked moved here within MARK_EVERY_SECONDS, not at once:
        until then this instance remembers how far it copied. Should it die
        first, the next one copies them again and the inbox's key on
        MessageSid ignores them: nothing is lost or doubled. (Rows copied and
        not marked are never pruned, so the highest id stays taken and ids
        cannot start again below what is remembered.)"""
        self._ready()
        with (
            self.engine.connect() as connection
        ):  # a read: no lock, WAL reads beside the webhook's writes
            rows = connection.execute(
                select(
                    landed.c.id,
                    landed.c.message_sid,
                    landed.c.to_number,
                    landed.c.from_number,
                    landed.c.body,
                    landed.c.media,
                    landed.c.received_at,
                )
                .where(landed.c.moved_at.is_(None), landed.c.id > self._copied_up_to)
                .order_by(landed.c.id)
                .limit(MOVE_BATCH)
            ).all()
        if rows:
            db.write_one(
                RECORD_SMS,
                [
                    {
                        "message_sid": r.message_sid,
                        "to_number": r.to_number,
                        "from_number": r.from_number,
                        "body": r.body,
                        "media": r.media,
                        "received_at": r.received_at,
                        "attempts": 0,
                    }
                    for r in rows
                ],
            )
            self._copied_up_to = rows[-1].id
            self._copied_at = self._copied_at or now
        if self._copied_up_to and (
            not rows or time.monotonic() - self._last_mark >= MARK_EVERY_SECONDS
        ):
            self._mark_moved()
        return len(rows)

    def _mark_moved(self) -> None:
        with self.write_lock.held(), self.engine.begin() as connection:
            connection.execute(
                update(landed)
                .where(landed.c.moved_at.is_(None), landed.c.id <= self._copied_up_to)
                .values(moved_at=self._copied_at)
            )
        self._copied_up_to, self._copied_at, self._last_mark = 0, None, time.monotonic()
        # The log's pages back into the file here, not in a webhook's commit
        # (PASSIVE: it waits for nobody and nobody waits for it).
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def forget_moved(self, *, now: datetime) -> int:
        self._ready()
        if self._copied_up_to:
            self._mark_moved()
        with self.write_lock.held(), self.engine.begin() as connection:
            return connection.execute(
                landed.delete().where(landed.c.moved_at < now - KEEP_MOVED)
            ).rowcount

    def close(self) -> None:
        self.engine.dispose()


def _pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _webhook_pragmas(dbapi_connection: DBAPIConnection, record: object) -> None:
    _pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA wal_autocheckpoint={WEBHOOK_CHECKPOINT_PAGES}")
    cursor.close()


def _create(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(LANDING_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
