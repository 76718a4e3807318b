"""`serve` runs the worker as a child process: it routes what the webhook
recorded, is restarted when it dies, does not outlive a killed `serve`, and
its counts show in the web process's /metrics."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from benchmarks.common import wait_until
from tests.reliability.conftest import facts, seed, send, texts

pytestmark = pytest.mark.slow


def worker_pids(server) -> list[int]:
    """Live `crisisroute worker` processes whose parent is this server."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat[1]) == server.process.pid and b"worker" in command and stat[0] != "Z":
            found.append(int(entry))
    return found


def routed(url: str) -> list:
    return [m for m in facts(url).inbox if m.processed_at is not None]


def test_the_worker_child_routes_is_restarted_and_reports_metrics(sqlite_url, servers, stand_in):
    world = seed(sqlite_url, clients=6, case_managers=2)
    server = servers.start(database_url=sqlite_url, twilio_url=stand_in.url)
    assert wait_until(lambda: len(worker_pids(server)) == 1, 15)
    [first] = worker_pids(server)
    senders = list(world.clients)

    assert {r.status for r in send(server, texts(world, senders[:3]))} == {200}
    assert wait_until(lambda: len(routed(sqlite_url)) == 3, 20)

    os.kill(first, signal.SIGKILL)
    assert {r.status for r in send(server, texts(world, senders[3:]))} == {200}  # recorded meanwhile
    assert wait_until(lambda: worker_pids(server) not in ([], [first]), 15), "the worker was not restarted"
    assert wait_until(lambda: len(routed(sqlite_url)) == 6, 30)
    assert {m.outcome for m in facts(sqlite_url).inbox} == {"opened"}
    assert '"event": "worker_exited"' in server.log_text()

    # Contacts are opened in the worker; the web process's /metrics counts them.
    metrics = httpx.get(server.url + "/metrics").text
    opened = [line for line in metrics.splitlines() if line.startswith("crisisroute_contacts_opened_total")]
    assert opened and float(opened[0].split()[-1]) == 6.0, opened
    assert 'crisisroute_webhooks_total{kind="sms",result="recorded"} 6.0' in metrics


def test_the_worker_does_not_outlive_a_killed_serve(sqlite_url, servers, stand_in):
    seed(sqlite_url, clients=1, case_managers=1)
    server = servers.start(database_url=sqlite_url, twilio_url=stand_in.url)
    assert wait_until(lambda: len(worker_pids(server)) == 1, 15)
    [child] = worker_pids(server)
    os.kill(server.process.pid, signal.SIGKILL)  # the web process only, not its group
    server.process.wait(5)

    def gone() -> bool:
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        return state == "Z"

    started = time.monotonic()
    assert wait_until(gone, 10), "the worker kept running without its server"
    assert time.monotonic() - started < 5
