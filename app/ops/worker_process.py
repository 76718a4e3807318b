"""`serve` runs the worker as a child process, not as threads of the web process.

Routing a text costs milliseconds of Python; in the web process it would
hold the interpreter lock while webhooks wait, so Twilio's answer would
depend on how busy routing is. As a child process the worker gets its own
core: webhooks answer in about a millisecond of work and routing runs beside
them. The child is restarted if it dies, stopped with `serve`, and exits by
itself if `serve` is killed (it watches its parent).

There are two kinds of child, each supervised alike: routers (`--role
route`: texts, escalations, notices) and one sender (`--role send`: the
outbox). Apart, the sender's threads never take the interpreter from a
router that holds SQLite's write lock, which every webhook waits for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import structlog

log = structlog.get_logger(__name__)

RESTART_DELAY_SECONDS = 1.0


class WorkerProcess:
    def __init__(self, role: str = "all") -> None:
        self.role = role
        self._stopping = threading.Event()
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._supervise, name=f"worker-supervisor-{role}", daemon=True
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> WorkerProcess:
        self._thread.start()
        return self

    def _spawn(self) -> subprocess.Popen:
        command = [
            sys.executable,
            "-m",
            "app.cli",
            "worker",
            "--parent-pid",
            str(os.getpid()),
            "--role",
            self.role,
        ]
        return subprocess.Popen(command, stdin=subprocess.DEVNULL)

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self._process = self._spawn()
            log.info("worker_started", pid=self._process.pid, role=self.role)
            code = self._process.wait()
            # A SIGTERM to the whole group (a service manager stopping us)
            # reaches the child first: give serve the moment to say it is
            # stopping too, and not in a tight loop if it cannot start at all.
            if self._stopping.wait(RESTART_DELAY_SECONDS):
                return
            # Escalations, routing and sends stop while it is down: restart.
            log.error("worker_exited", code=code, role=self.role, restarting=True)

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
