"""The cross-process write lock of a SQLite file (see `SqliteWriteLock`):
a mechanism of its own (flock and a turnstile), used by `app.db.Database`
and the inbound landing file."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class SqliteWriteLock:
    """One writer at a time across the processes sharing a SQLite file (the
    web process and its worker child), waited for in the kernel.

    Every SQLite transaction here takes the write lock up front (BEGIN
    IMMEDIATE). Without this, a webhook that finds the file locked is left to
    SQLite's busy handler, which sleeps and retries with growing naps (up to
    100 ms each): a worker routing texts back to back keeps winning and
    webhooks wait up to a second. A blocking flock wakes the waiter as soon as
    the holder lets go. Re-entrant per thread (a nested session holds it
    already).

    A kernel lock is not fair, though: the worker, still on the CPU when it
    lets go, took it back for its next text before the woken webhook ran. So
    a `background` writer (the worker) first passes a turnstile beside the
    lock that every waiting foreground writer (a webhook) holds shared: while
    a webhook waits, the worker cannot queue up again ahead of it."""

    def __init__(self, path: str, *, background: bool = False):
        self._fcntl = fcntl
        self._path = path
        self.background = background
        self._files: dict[
            str, object
        ] = {}  # opened on first use: a database that cannot be opened yet must not stop `serve`
        self._threads = threading.Lock()
        self._local = threading.local()

    def _open(self, path: str):
        if path not in self._files:
            try:
                self._files[path] = open(path, "a+b")  # noqa: SIM115 (lives as long as the Database)
            except OSError:
                return None  # SQLite cannot open the database beside it either, and says so
        return self._files[path]

    @contextmanager
    def held(self) -> Iterator[None]:
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        with self._threads:
            lock_file, turnstile = self._open(self._path), self._open(self._path + ".turn")
            if lock_file is None or turnstile is None:
                yield
                return
            flock = self._fcntl.flock
            flock(
                turnstile.fileno(), self._fcntl.LOCK_EX if self.background else self._fcntl.LOCK_SH
            )
            try:
                flock(lock_file.fileno(), self._fcntl.LOCK_EX)
            finally:
                flock(turnstile.fileno(), self._fcntl.LOCK_UN)
            self._local.depth = 1
            try:
                yield
            finally:
                self._local.depth = 0
                flock(lock_file.fileno(), self._fcntl.LOCK_UN)

    @property
    def path(self) -> str:
        return self._path

    @contextmanager
    def held_if_free(self) -> Iterator[bool]:
        """The lock if nobody holds it, without waiting: yields whether it
        was taken (False: do the work where waiting is harmless, in `held`).
        A foreground writer's shortcut: it passes no turnstile, which only
        holds back background writers."""
        if getattr(self._local, "depth", 0) or not self._threads.acquire(blocking=False):
            yield False
            return
        try:
            lock_file = self._open(self._path)
            if lock_file is None:
                yield False
                return
            fcntl = self._fcntl
            try:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            self._local.depth = 1
            try:
                yield True
            finally:
                self._local.depth = 0
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)
        finally:
            self._threads.release()
