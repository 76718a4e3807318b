"""Writers sharing a SQLite file (serve's web process and its worker child)
take turns through a kernel lock, not SQLite's sleeping busy handler."""

from __future__ import annotations

import threading

from sqlalchemy import text

from app.db import Database


def test_a_second_writer_waits_for_the_first_and_then_goes_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    web, worker = Database.from_url(url), Database.from_url(url)  # two handles, like two processes
    assert web.write_lock is not None
    with web.session() as session:
        session.execute(text("CREATE TABLE t (who TEXT)"))
    assert (tmp_path / "shared.db.lock").exists()
    inside, release, second_done = threading.Event(), threading.Event(), threading.Event()
    order: list[str] = []

    def long_writer():
        with worker.session() as session:
            session.execute(text("INSERT INTO t VALUES ('worker')"))
            inside.set()
            release.wait(10)
            order.append("worker commits")

    def webhook():
        with web.session() as session:
            session.execute(text("INSERT INTO t VALUES ('web')"))
            order.append("web writes")
        second_done.set()

    first = threading.Thread(target=long_writer)
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=webhook)
    second.start()
    assert not second_done.wait(0.3)  # blocked while the other holds the lock
    release.set()
    assert second_done.wait(10)
    first.join(10)
    second.join(10)
    assert order == ["worker commits", "web writes"]
    with web.session() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 2


def test_a_nested_session_in_one_thread_does_not_deadlock_on_the_lock(tmp_path):
    database = Database.from_url(f"sqlite:///{tmp_path / 'nested.db'}")
    with database.session(), database.session() as inner:
        assert inner.execute(text("SELECT 1")).scalar_one() == 1


def test_postgres_and_memory_databases_have_no_file_lock():
    assert Database.from_url("sqlite://").write_lock is None
    assert Database.from_url("postgresql://nobody@127.0.0.1:1/none").write_lock is None


def _held_shared(path) -> bool:
    """Whether some writer holds the turnstile shared (is waiting for the lock)."""
    import fcntl

    with open(path, "a+b") as probe:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe.fileno(), fcntl.LOCK_UN)
        return False


def test_a_waiting_webhook_goes_before_the_worker_queues_again(tmp_path):
    """The worker lets go and wants the lock straight back for its next text;
    a webhook already waiting gets it first."""
    import time

    url = f"sqlite:///{tmp_path / 'fair.db'}"
    holder, web = Database.from_url(url), Database.from_url(url)
    worker = Database.from_url(url, background=True)
    with holder.session() as session:
        session.execute(text("CREATE TABLE t (who TEXT)"))
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first_writer():
        with holder.session() as session:
            session.execute(text("INSERT INTO t VALUES ('first')"))
            inside.set()
            release.wait(10)

    def writer(database, name):
        with database.session() as session:
            session.execute(text(f"INSERT INTO t VALUES ('{name}')"))
            order.append(name)

    threads = [threading.Thread(target=first_writer)]
    threads[0].start()
    assert inside.wait(10)
    threads.append(threading.Thread(target=writer, args=(web, "web")))
    threads[1].start()
    deadline = time.monotonic() + 10  # the webhook is waiting once it holds the turnstile
    while not _held_shared(tmp_path / "fair.db.lock.turn"):
        assert time.monotonic() < deadline, "the webhook never started waiting"
    threads.append(threading.Thread(target=writer, args=(worker, "worker")))
    threads[2].start()
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["web", "worker"]


def test_the_worker_does_not_take_the_lock_while_a_webhook_waits_for_it(tmp_path):
    import fcntl

    url = f"sqlite:///{tmp_path / 'turn.db'}"
    worker = Database.from_url(url, background=True)
    with Database.from_url(url).session() as session:
        session.execute(text("CREATE TABLE t (who TEXT)"))
    done = threading.Event()

    def worker_writes():
        with worker.session() as session:
            session.execute(text("INSERT INTO t VALUES ('worker')"))
        done.set()

    with open(tmp_path / "turn.db.lock.turn", "a+b") as waiting_webhook:
        fcntl.flock(waiting_webhook.fileno(), fcntl.LOCK_SH)  # what a webhook holds while it waits
        thread = threading.Thread(target=worker_writes)
        thread.start()
        assert not done.wait(0.3)  # the lock itself is free, yet the worker gives way
        fcntl.flock(waiting_webhook.fileno(), fcntl.LOCK_UN)
        assert done.wait(10)
    thread.join(10)
