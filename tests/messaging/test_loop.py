"""The sender's loop alone, with stand-in rounds: a wake starts a round,
rounds overlap up to the limit, a wake while every round is busy is kept,
and a poll starts a round only when the look changed."""

from __future__ import annotations

import threading

from app.messaging.loop import SendLoop


class Rounds:
    """Rounds that hold until released, counting how many ran and overlap."""

    def __init__(self, sent: int = 0):
        self.lock = threading.Lock()
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        self.running = self.most_at_once = self.ran = 0
        self.sent = sent

    def __call__(self) -> int:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.started.release()
        self.release.wait(10)
        with self.lock:
            self.running -= 1
            self.ran += 1
        return self.sent


def test_wakes_start_rounds_side_by_side_up_to_the_limit_and_one_more_after():
    rounds = Rounds()
    loop = SendLoop(send_round=rounds, look=lambda: (), rounds_in_flight=2)
    loop.start()
    try:
        assert loop.running
        loop.wake()
        assert rounds.started.acquire(timeout=10)
        loop.wake()
        assert rounds.started.acquire(timeout=10)
        loop.wake()  # both rounds busy: remembered, not a third round
        assert not rounds.started.acquire(timeout=0.2)
        assert rounds.most_at_once == 2
        rounds.release.set()
        # The first round to finish wakes the loop for the wanted one.
        assert rounds.started.acquire(timeout=10)
    finally:
        rounds.release.set()
        loop.close()
    assert rounds.ran == 3 and rounds.most_at_once == 2


def test_a_round_that_sent_something_starts_a_follow_up_round():
    rounds = Rounds(sent=1)
    rounds.release.set()
    follow_ups = threading.Event()

    def send_round() -> int:
        if rounds.ran >= 2:
            follow_ups.set()
            return 0
        return rounds()

    loop = SendLoop(send_round=send_round, look=lambda: ())
    loop.start()
    try:
        loop.wake()
        assert follow_ups.wait(10)  # one wake, three rounds: two sent, the last found nothing
    finally:
        loop.close()


def test_polling_starts_a_round_only_when_the_look_changes():
    looks = iter([(1, 1), (1, 1), (1, 1), (2, 1)] + [(2, 1)] * 10_000)
    looked = threading.Semaphore(0)
    rounds = Rounds()
    rounds.release.set()

    def look():
        looked.release()
        return next(looks)

    loop = SendLoop(send_round=rounds, look=look)
    loop.start(poll_seconds=0.001)
    try:
        for _ in range(8):
            assert looked.acquire(timeout=10)
    finally:
        loop.close()
    assert rounds.ran == 2  # the first look, and the change to (2, 1)


def test_a_failing_round_or_look_does_not_stop_the_loop():
    calls = []
    done = threading.Event()

    def send_round() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        done.set()
        return 0

    loop = SendLoop(send_round=send_round, look=lambda: ())
    loop.start()
    try:
        loop.wake()
        while not done.is_set():
            loop.wake()
            done.wait(0.05)
    finally:
        loop.close()
    assert len(calls) >= 2
