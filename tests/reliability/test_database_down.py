"""The database unreachable: the SMS webhook answers 503 within a second (so
Twilio moves on to the fallback URL at once instead of waiting out its 15 s
timeout) and `/twilio/fallback` still answers, from memory.

Two ways to lose the database: the server starts while it is already
unreachable (a PostgreSQL URL pointing at a closed port, a SQLite file that
cannot be opened), and PostgreSQL going away under a running server (its
connections run through a TCP relay that the test cuts, then restores).
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from benchmarks.common import HOST, free_port, sign, sms_params, wait_until
from tests.reliability.conftest import facts, seed, send, texts

pytestmark = pytest.mark.slow

LINE = "+19735550100"


def timed(method, url: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = method(url, timeout=20, **kwargs)
    return response, time.monotonic() - started


def signed(server, path: str, params: dict) -> tuple[httpx.Response, float]:
    url = server.url + path
    return timed(httpx.post, url, data=params, headers={"X-Twilio-Signature": sign(url, params)})


def assert_line_still_answered(server, fallback_number: str) -> None:
    for i in range(5):
        r, seconds = signed(
            server, "/twilio/sms", sms_params(f"+1201200{i:04d}", LINE, "are you there")
        )
        assert r.status_code == 503, r.text
        assert seconds < 1.0, f"503 took {seconds:.2f}s"
    r, seconds = signed(
        server, "/twilio/fallback", {"CallSid": "CA1", "From": "+12012000001", "To": LINE}
    )
    assert r.status_code == 200 and f"<Dial>{fallback_number}</Dial>" in r.text and seconds < 1.0
    r, seconds = signed(
        server, "/twilio/fallback", {"MessageSid": "SM1", "From": "+12012000001", "To": LINE}
    )
    assert (
        r.status_code == 200
        and "<Message>" in r.text
        and fallback_number in r.text
        and seconds < 1.0
    )
    assert httpx.get(server.url + "/healthz").status_code == 200
    assert httpx.get(server.url + "/readyz", timeout=20).status_code == 503


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://postgres@{HOST}:{free_port()}/crisisroute_proof_nowhere",
        "sqlite:////nonexistent-directory/crisisroute/none.db",
    ],
    ids=["postgres_closed_port", "sqlite_unopenable"],
)
def test_a_server_started_without_its_database_still_answers_the_line(servers, stand_in, url):
    server = servers.make(database_url=url, twilio_url=stand_in.url, tick_seconds=0.2)
    server.start(wait_ready=False)
    server.wait_ready(timeout=30, path="/healthz")
    # It has never seen the team: the fallback is the default 988 line.
    assert_line_still_answered(server, "988")


class Relay:
    """A TCP relay to PostgreSQL that can be cut (every connection dropped,
    new ones refused) and restored on the same port."""

    def __init__(self, target_port: int):
        self.target = (HOST, target_port)
        self.port = free_port()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None

    def start(self) -> Relay:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        if self.listener:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets.clear()


def test_postgres_going_away_under_a_running_server(pg_url, servers, stand_in):
    from sqlalchemy.engine import make_url

    world = seed(pg_url, clients=3, case_managers=1, ack_timeout_seconds=2, line=LINE)
    target = make_url(pg_url)
    relay = Relay(target.port or 5432).start()
    try:
        via_relay = target.set(host=HOST, port=relay.port).render_as_string(hide_password=False)
        server = servers.start(database_url=via_relay, twilio_url=stand_in.url, tick_seconds=0.2)
        senders = list(world.clients)
        assert {r.status for r in send(server, texts(world, senders[:1]))} == {200}

        relay.cut()  # the database is gone; the contact's level-1 timeout falls due meanwhile
        assert_line_still_answered(server, world.fallback)
        time.sleep(2.5)  # an outage longer than the ack timeout (not a synchronisation)
        assert_line_still_answered(server, world.fallback)

        relay.start()  # back: no restart needed
        assert wait_until(lambda: send(server, texts(world, senders[1:2]))[0].status == 200, 15)
        assert wait_until(
            lambda: (
                len(facts(pg_url).contacts) == 2
                and {(c.level > 1) for c in facts(pg_url).contacts} == {True}
            ),
            20,
        )
        f = facts(pg_url)
        first = min(f.contacts, key=lambda c: c.id)
        escalated = [e for e in f.events if e.kind == "escalated" and e.contact_id == first.id]
        assert [e.data["to_level"] for e in escalated] == list(range(2, first.level + 1)), (
            "escalation lost or doubled"
        )
    finally:
        relay.cut()
