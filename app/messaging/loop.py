"""The sender's background loop: a thread that starts rounds when woken (or
when a poll sees the outbox change), with several rounds in flight at once.

It knows nothing of the outbox: a round is any function that sends what is
due and returns how many it tried, and a look is any cheap read whose value
changes when there is something new to send.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog

log = structlog.get_logger(__name__)

# Rounds of claim → send → record in flight at once: a message queued while
# one round waits on Twilio goes in the next round at once, not after it (the
# claim never takes a message whose lane is busy).
ROUNDS_IN_FLIGHT = 4


class SendLoop:
    def __init__(
        self,
        *,
        send_round: Callable[[], int],
        look: Callable[[], tuple[Any, ...]],
        rounds_in_flight: int = ROUNDS_IN_FLIGHT,
    ) -> None:
        self._send_round = send_round
        self._look = look
        self._rounds_in_flight_max = rounds_in_flight
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll_seconds: float | None = None
        self._last_signal: tuple[Any, ...] = ()
        self._rounds_lock = threading.Lock()
        self._pool_lock = threading.Lock()
        self._rounds_in_flight = 0
        self._round_executor: ThreadPoolExecutor | None = None
        self._round_wanted = False  # a wake came while every round was busy

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, *, poll_seconds: float | None = None) -> None:
        """`poll_seconds`: nobody in this process wakes the loop, so it looks
        that often whether the outbox changed and starts a round when it did."""
        self._poll_seconds = poll_seconds
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._wake.set()
            self._thread.join(timeout=30)
        if self._round_executor is not None:
            self._round_executor.shutdown(wait=True)  # rounds in flight record what Twilio took

    def _changed(self) -> bool:
        """Polling: did a message arrive or leave since the last look? Kept
        cheap (two index lookups, no lock); a change it misses (one leaving
        while another with a lower id commits late, PostgreSQL only) is
        sent by the sweep within a second."""
        signal = self._look()
        changed = signal != self._last_signal
        self._last_signal = signal
        return changed

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self._poll_seconds is None:
                self._wake.wait()
            elif not self._wake.wait(self._poll_seconds):
                try:
                    if not self._changed():
                        continue
                except Exception as exc:  # the database is away: poll again, quietly
                    log.warning("outbox_poll_failed", error=type(exc).__name__)
                    self._stopping.wait(1.0)
                    continue
            self._wake.clear()
            if self._stopping.is_set():
                return
            self._start_round()

    def _start_round(self) -> None:
        with self._rounds_lock:
            if self._rounds_in_flight >= self._rounds_in_flight_max:
                self._round_wanted = True  # the first round to finish wakes the loop again
                return
            self._rounds_in_flight += 1
        try:
            self._round_pool().submit(self._round)
        except Exception as exc:
            self._round_done()
            log.warning("outbox_round_not_started", error=type(exc).__name__)
            self._stopping.wait(1.0)

    def _round_done(self) -> bool:
        """Whether a round was wanted while every round was busy."""
        with self._rounds_lock:
            self._rounds_in_flight -= 1
            wanted, self._round_wanted = self._round_wanted, False
            return wanted

    def _round(self) -> None:
        """One round. What waited behind its messages in their lanes goes in a
        follow-up round: when polling, the round's record changed the outbox
        signal; when woken, this wakes the loop itself."""
        sent = 0
        try:
            sent = self._send_round()
        except Exception as exc:  # the sweep retries whatever this left; the loop must go on
            log.error("outbox_sender_failed", error=type(exc).__name__, exc_info=exc)
        finally:
            if self._round_done() or (sent and self._poll_seconds is None):
                self._wake.set()

    def _round_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._round_executor is None:
                self._round_executor = ThreadPoolExecutor(
                    max_workers=self._rounds_in_flight_max, thread_name_prefix="round"
                )
            return self._round_executor
