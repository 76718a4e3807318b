"""`serve` runs the worker as two child processes, a router and a sender:
they route what the webhook recorded and send what routing queued, each is
restarted when it dies, neither outlives a killed `serve`, and their counts
show in the web process's /metrics."""

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


def worker_pids(server, role: str | None = None) -> list[int]:
    """Live `crisisroute worker` processes (in `role`) whose parent is this server."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if role is not None and role.encode() not in command:
            continue
        if int(stat[1]) == server.process.pid and b"worker" in command and stat[0] != "Z":
            found.append(int(entry))
    return found


def routed(url: str) -> list:
    return [m for m in facts(url).inbox if m.processed_at is not None]


def test_the_worker_children_route_and_send_are_restarted_and_report_metrics(
    sqlite_url, servers, stand_in
):
    world = seed(sqlite_url, clients=9, case_managers=2)
    server = servers.start(database_url=sqlite_url, twilio_url=stand_in.url)
    assert wait_until(
        lambda: len(worker_pids(server, "route")) == 1 and len(worker_pids(server, "send")) == 1, 15
    )
    assert len(worker_pids(server)) == 2
    [router], [sender] = worker_pids(server, "route"), worker_pids(server, "send")
    senders = list(world.clients)

    assert {r.status for r in send(server, texts(world, senders[:3]))} == {200}
    assert wait_until(lambda: len(routed(sqlite_url)) == 3, 20)
    # The sender child, not the router, handed what routing queued to Twilio.
    assert wait_until(lambda: not facts(sqlite_url).unsent(), 20)
    delivered = len(stand_in.accepted)
    assert delivered >= 3

    os.kill(router, signal.SIGKILL)
    assert {r.status for r in send(server, texts(world, senders[3:6]))} == {
        200
    }  # recorded meanwhile
    assert wait_until(lambda: worker_pids(server, "route") not in ([], [router]), 15), (
        "the router was not restarted"
    )
    assert wait_until(lambda: len(routed(sqlite_url)) == 6, 30)

    # With the sender dead, routing goes on and queues; the restarted sender sends it all.
    assert wait_until(lambda: not facts(sqlite_url).unsent(), 20)
    os.kill(sender, signal.SIGKILL)
    assert {r.status for r in send(server, texts(world, senders[6:]))} == {200}
    assert wait_until(lambda: len(routed(sqlite_url)) == 9, 30)
    assert wait_until(lambda: worker_pids(server, "send") not in ([], [sender]), 15), (
        "the sender was not restarted"
    )
    assert wait_until(lambda: not facts(sqlite_url).unsent(), 20)
    assert len(stand_in.accepted) == len(facts(sqlite_url).messages) > delivered
    assert {m.outcome for m in facts(sqlite_url).inbox} == {"opened"}
    log = server.log_text()
    assert (
        '"role": "route"' in log and '"role": "send"' in log and '"event": "worker_exited"' in log
    )

    # Contacts are opened in the router; the web process's /metrics counts them.
    metrics = httpx.get(server.url + "/metrics").text
    opened = [
        line
        for line in metrics.splitlines()
        if line.startswith("crisisroute_contacts_opened_total")
    ]
    assert opened and float(opened[0].split()[-1]) == 9.0, opened
    assert 'crisisroute_webhooks_total{kind="sms",result="recorded"} 9.0' in metrics


def test_the_worker_does_not_outlive_a_killed_serve(sqlite_url, servers, stand_in):
    seed(sqlite_url, clients=1, case_managers=1)
    server = servers.start(database_url=sqlite_url, twilio_url=stand_in.url)
    assert wait_until(lambda: len(worker_pids(server)) == 2, 15)
    children = worker_pids(server)
    os.kill(server.process.pid, signal.SIGKILL)  # the web process only, not its group
    server.process.wait(5)

    def gone() -> bool:
        for child in children:
            try:
                state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                return False
        return True

    started = time.monotonic()
    assert wait_until(gone, 10), "a worker kept running without its server"
    assert time.monotonic() - started < 5
