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
    with database.session():
        with database.session() as inner:
            assert inner.execute(text("SELECT 1")).scalar_one() == 1


def test_postgres_and_memory_databases_have_no_file_lock():
    assert Database.from_url("sqlite://").write_lock is None
    assert Database.from_url("postgresql://nobody@127.0.0.1:1/none").write_lock is None
