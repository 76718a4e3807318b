"""Engine and sessions from DATABASE_URL.

(About 350 lines: the two backends' engines, sessions, the async pool and
the one-writer rule are read together, since each works around the others.)

SQLite (the embedded default) gets WAL, foreign keys and a busy timeout so the
webhook and the escalation tick can share the file; PostgreSQL goes through
psycopg 3. All datetimes are timezone-aware UTC (SQLModel maps `datetime` to a
UTC-aware type on both backends).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import MetaData, Table, bindparam, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, SQLModel, create_engine

from app.sqlite_lock import SqliteWriteLock as SqliteWriteLock  # landing.py takes it from here

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


if TYPE_CHECKING:
    import asyncio

    from psycopg_pool import AsyncConnectionPool
    from sqlalchemy.engine import CursorResult

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (or none)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model, for statements that bypass the ORM.
    SQLModel sets `__table__` when the class is made; its types do not declare it."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def rowcount(result: object) -> int:
    """The rows an UPDATE or DELETE changed: `Session.execute` returns a
    cursor result, typed as a plain `Result`."""
    return cast("CursorResult[Any]", result).rowcount


def make_engine(url: str, **kwargs) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Let SQLAlchemy, not pysqlite, decide when transactions begin, so
            # SAVEPOINTs work and every transaction takes the write lock up
            # front (BEGIN IMMEDIATE): two writers then queue on busy_timeout
            # instead of deadlocking on a read-to-write lock upgrade.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # Enough kept-open connections for the web process's thread pool under a
    # burst: an overflow connection is closed when returned, and opening a
    # new one per request costs PostgreSQL a backend fork each time.
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    # Checked before each use, so a restarted database costs no request an error.
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(
        url,
        pool_timeout=5,
        connect_args=dict(POSTGRES_CONNECT_ARGS),
        hide_parameters=True,
        **kwargs,
    )


# A slow or dead database must not hold a webhook past Twilio's 15 s (fail
# fast, so Twilio moves to the fallback URL): connects give up at 3 s,
# statements at 10 s, dead peers are noticed by TCP keepalives within ~10 s.
POSTGRES_CONNECT_ARGS = {
    "connect_timeout": 3,
    "options": "-c statement_timeout=10000",
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}
# How long `write_one_on_loop` waits for a free connection before leaving the
# write to a thread: a database gone away costs a webhook this much before
# its 503 (which must come within a second).
ON_LOOP_WAIT = 0.25


def insert_ignoring_duplicates(table, *, key: str, columns: list[str]):
    """INSERT … ON CONFLICT (key) DO NOTHING, as one statement built once.

    SQLAlchemy's dialect `insert().on_conflict_do_nothing()` has no cache
    key, so it is compiled again on every execution (~1 ms of the webhook's
    ~3 ms on 2 cores); a typed text() is compiled once and runs on SQLite
    (3.24+) and PostgreSQL alike."""
    names = ", ".join(columns)
    values = ", ".join(f":{column}" for column in columns)
    return text(
        f"INSERT INTO {table.name} ({names}) VALUES ({values}) ON CONFLICT ({key}) DO NOTHING"
    ).bindparams(*[bindparam(column, type_=table.c[column].type) for column in columns])


class Database:
    """One engine and its session factory; the app and the worker each hold one."""

    def __init__(
        self,
        engine: Engine,
        *,
        session_options: dict | None = None,
        write_lock: SqliteWriteLock | None = None,
    ):
        self.engine = engine
        self.sessionmaker = sessionmaker(
            bind=engine, class_=Session, expire_on_commit=False, **(session_options or {})
        )
        self.write_lock = write_lock
        self._autocommit: Engine | None = None
        self._reader: Engine | None = None
        # (event loop, psycopg pool): write_one_on_loop
        self._on_loop: tuple[asyncio.AbstractEventLoop, AsyncConnectionPool] | None = None
        self._on_loop_statements: dict = {}

    @classmethod
    def from_url(cls, url: str, *, background: bool = False) -> Database:
        """`background`: this process's writes give way to waiting webhooks
        (the worker's, on a SQLite file shared with the web process)."""
        # The worker's every transaction is retried when it fails (a text is
        # routed again, a tick runs again), and SQLAlchemy drops the whole pool
        # on the first disconnect it sees: a database restart costs it one retry,
        # cheaper than a ping before each of its many short transactions.
        engine = make_engine(url, pool_pre_ping=False) if background else make_engine(url)
        path = engine.url.database if engine.dialect.name == "sqlite" else None
        lock = (
            SqliteWriteLock(f"{path}.lock", background=background)
            if path and path != ":memory:" and sys.platform != "win32"
            else None
        )
        return cls(engine, write_lock=lock)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def write_one(self, statement, parameters: dict | list[dict] | None = None) -> int:
        """Run one write that is its own transaction (with `parameters`, once
        for each); returns its rowcount.

        On PostgreSQL: autocommit, on a pool of its own without the pre-ping
        every other checkout pays (one round trip where a session takes four:
        ping, BEGIN, the statement, COMMIT). A connection that died since its
        last use (a database restart) is noticed by the write itself, which
        is then made once more on a fresh connection: so the statement must
        be idempotent (the webhook's insert is, ON CONFLICT DO NOTHING).
        SQLite keeps its ordinary write transaction (its BEGIN IMMEDIATE is
        what makes writers queue), and so do sessions bound to one connection
        (tests)."""
        return self._write_alone(statement, parameters, lambda result: result.rowcount)

    def write_returning(self, statement, parameters: dict) -> list:
        """`write_one` for a statement with RETURNING: its rows, on the same terms."""
        return self._write_alone(statement, parameters, list)

    def _write_alone(self, statement, parameters, read):
        """`statement` as its own transaction; `read` takes what it needs of
        the result before the connection goes back (see `write_one`)."""
        bind = self.sessionmaker.kw.get("bind")
        if not self.is_postgres or not isinstance(bind, Engine):
            with self.session() as session:
                return read(session.execute(statement, parameters))
        for attempt in (1, 2):
            try:
                with self._autocommit_engine(bind).connect() as connection:
                    return read(connection.execute(statement, parameters))
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def _autocommit_engine(self, bind: Engine) -> Engine:
        if self._autocommit is None:
            self._autocommit = make_engine(
                bind.url.render_as_string(hide_password=False),
                pool_pre_ping=False,
                isolation_level="AUTOCOMMIT",
                pool_size=10,
                max_overflow=20,
            )
        return self._autocommit

    async def write_one_on_loop(self, statement, parameters: dict) -> int | None:
        """`write_one` from the event loop itself, on PostgreSQL: the web
        process's idempotent webhook insert. Through a thread it costs two
        thread wake-ups and SQLAlchemy's execution, about a quarter of a
        webhook's CPU (benchmarks/README.md, "Measured choices").

        None when it was not done here, and the caller runs `write_one` in a
        thread, which keeps its retry and its errors (the webhook's 503): on
        SQLite, for sessions bound to one connection (tests), when no
        connection is free within ON_LOOP_WAIT (a burst, a database going
        away), and on any database error (a connection that died idle: the
        pool drops it). So the statement must be idempotent, as for
        `write_one`: it may have committed before its error. `parameters`
        are passed to psycopg as they are (no SQLAlchemy type processing):
        strings, numbers, aware datetimes."""
        bind = self.sessionmaker.kw.get("bind")
        if not self.is_postgres or not isinstance(bind, Engine):
            return None

        pool, sql = await self._on_loop_pool(bind), self._on_loop_sql(statement)
        try:
            async with pool.connection(timeout=ON_LOOP_WAIT) as connection:
                return (await connection.execute(sql, parameters)).rowcount
        except (PoolTimeout, psycopg.Error):
            return None

    def _on_loop_sql(self, statement) -> str:
        sql = self._on_loop_statements.get(statement)
        if sql is None:
            sql = self._on_loop_statements[statement] = str(
                statement.compile(dialect=self.engine.dialect)
            )
        return sql

    async def _on_loop_pool(self, bind: Engine):
        """One pool per event loop (a test client runs each of its apps on a
        loop of its own; a pool cannot outlive its loop)."""
        loop = asyncio.get_running_loop()
        if self._on_loop is None or self._on_loop[0] is not loop:
            conninfo = bind.url.set(drivername="postgresql").render_as_string(hide_password=False)
            pool = AsyncConnectionPool(
                conninfo,
                min_size=2,
                max_size=10,
                open=False,
                name="webhook",
                kwargs={"autocommit": True, **POSTGRES_CONNECT_ARGS},
            )
            self._on_loop = (loop, pool)
            await pool.open()
        return self._on_loop[1]

    async def close_on_loop(self) -> None:
        """Close the event loop's pool (the web process's shutdown)."""
        if self._on_loop is not None and self._on_loop[0] is asyncio.get_running_loop():
            pool, self._on_loop = self._on_loop[1], None
            await pool.close()

    def peek(self, statement):
        """One row of a read that takes no lock and writes nothing (a poll)."""
        rows = self.peek_all(statement)
        return rows[0] if rows else None

    def peek_all(self, statement) -> list[Any]:
        """The rows of a read that takes no lock and writes nothing.

        Every session here is a write transaction (on SQLite, BEGIN IMMEDIATE
        behind the write lock), so a process polling through one 20 times a
        second would queue behind webhooks and make them queue behind it. On
        SQLite this reads through an engine of its own that opens no
        transaction (pysqlite's default: a SELECT alone begins none), which
        WAL lets run beside the writer; on PostgreSQL through the autocommit
        pool. Sessions bound to one connection (tests) read through it."""
        bind = self.sessionmaker.kw.get("bind")
        if not isinstance(bind, Engine) or bind.url.database in (None, "", ":memory:"):
            with self.session() as session:
                return list(session.execute(statement).all())
        if self._reader is None:
            url = bind.url.render_as_string(hide_password=False)
            if self.is_postgres:
                # The sender's poll, and a look after each of its rounds (up to 4 in flight).
                self._reader = make_engine(
                    url,
                    pool_pre_ping=False,
                    isolation_level="AUTOCOMMIT",
                    pool_size=2,
                    max_overflow=4,
                )
            else:
                self._reader = create_engine(
                    url,
                    connect_args={"check_same_thread": False, "timeout": 30},
                    hide_parameters=True,
                )
        with self._reader.connect() as connection:
            return list(connection.execute(statement).all())

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error."""
        with self.write_lock.held() if self.write_lock else nullcontext():
            session = self.sessionmaker()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()


def per_transaction(session: Session, name: str, key: Hashable, load: Callable[[], T]) -> T:
    """`load()` once per transaction and `key` (routing several texts in one
    transaction reads the team's rows once for all of them). The session is
    closed at the transaction's end, and its `info` with it."""
    cache = session.info.setdefault(name, {})
    if key not in cache:
        cache[key] = load()
    found: T = cache[key]
    return found


metadata: MetaData = SQLModel.metadata
