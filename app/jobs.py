"""Every periodic job, declared in one place.

APScheduler only ticks: each job loads due rows from the database, decides
with `now`, writes back and commits. Nothing in memory is the source of
truth, so a restart or a second instance changes nothing.

A job is a named function of the runtime. `declared_jobs` says which jobs a
process runs and how often; jobs that share a `Round` run one after another
in one scheduler slot (each isolated and logged under its own name), so the
minute's checks see each other's writes in order and never contend for the
database with each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from app.contacts.retention import purge_due
from app.escalation.handover import check_holders
from app.escalation.notices import (
    send_coverage_checks,
    send_shift_notices,
    send_unreachable_checks,
)
from app.escalation.tick import tick
from app.inbound.inbox import BATCH, ROUTED_TOGETHER, route_pending
from app.inbound.stuck import retry_stuck
from app.messaging.results import forget_unclaimed_callbacks
from app.outcomes.service import send_due_follow_ups
from app.runtime import Runtime
from app.settings import Settings

log = structlog.get_logger(__name__)

JobRun = Callable[[Runtime], object]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobRun
    seconds: float


# The jobs


def route_inbox(runtime: Runtime) -> None:
    """Route recorded texts, and have what each transaction queued
    (auto-replies, notifications) sent at once rather than on the next sweep:
    by the worker's background sender while the next texts are routed, or
    (without one) right away."""
    kick = runtime.dispatcher.kick
    # A background sender is kicked after every transaction (a flag set);
    # sending in line waits on Twilio, so then after every few texts.
    together = (
        ROUTED_TOGETHER if runtime.dispatcher.sends_in_background else ROUTE_THEN_SEND_IN_LINE
    )
    # A backlog is routed without a pause. Otherwise what arrives while a
    # group is routed waits for the next look (INBOX_POLL_SECONDS) and is
    # routed with what arrives beside it: looking again at once routes most
    # texts one a transaction, each paying for the team's reads and a commit
    # of its own.
    while (
        route_pending(runtime, together=together, between=kick, unless_fewer_than=together) >= BATCH
    ):
        kick()


ROUTE_THEN_SEND_IN_LINE = 5


def escalation_tick(runtime: Runtime) -> None:
    tick(db=runtime.db, now=runtime.now(), settings=runtime.settings)
    # Messages the escalation just queued, and any retry that fell due.
    runtime.dispatcher.kick()


def outbox_sweep(runtime: Runtime) -> None:
    runtime.dispatcher.apply_early_callbacks()
    runtime.dispatcher.drain(max_rounds=10)


def holders_check(runtime: Runtime) -> None:
    """Held contacts whose holder went off duty: asked to keep, or handed on."""
    with runtime.db.session() as session:
        check_holders(session=session, now=runtime.now(), settings=runtime.settings)


def shift_notices(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        send_shift_notices(session=session, now=runtime.now())


def coverage_checks(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        send_coverage_checks(session=session, now=runtime.now())


def unreachable_checks(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        send_unreachable_checks(session=session, now=runtime.now())


def follow_ups(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        send_due_follow_ups(session=session, now=runtime.now())


def unclaimed_callbacks(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        forget_unclaimed_callbacks(session=session, now=runtime.now())


def landed_texts(runtime: Runtime) -> None:
    """SQLite only: forget landing rows the router moved a while ago."""
    runtime.inbox.forget_moved(now=runtime.now())


def send_queued(runtime: Runtime) -> None:
    """What the minute's checks queued leaves now, not on the next sweep."""
    runtime.dispatcher.kick()


def retry_stuck_texts(runtime: Runtime) -> None:
    """Texts neither routing nor the minimal plan could open: tried again every minute."""
    if retry_stuck(runtime):
        runtime.dispatcher.kick()


def retention(runtime: Runtime) -> None:
    """Erase what each team keeps past its message_retention_days."""
    with runtime.db.session() as session:
        purge_due(session=session, now=runtime.now())


def refresh_fallback(runtime: Runtime) -> None:
    runtime.refresh_fallback_numbers()


# Where they run


@dataclass(frozen=True)
class Round:
    """Named jobs run in order in one scheduler slot; a job that raises is
    logged and the next one still runs."""

    name: str
    jobs: Sequence[JobRun]
    seconds: float

    def as_job(self) -> Job:
        def run(runtime: Runtime) -> None:
            for job in self.jobs:
                _isolated(job.__name__, job, runtime)

        return Job(self.name, run, self.seconds)


MINUTE_CHECKS = Round(
    "minute_checks",
    (
        holders_check,
        shift_notices,
        coverage_checks,
        unreachable_checks,
        follow_ups,
        unclaimed_callbacks,
        landed_texts,
        send_queued,
    ),
    60,
)

ROLES = ("all", "route", "send")


def web_jobs(settings: Settings) -> list[Job]:
    """What every web process runs, worker or not: its copy of the fallback
    numbers that /twilio/fallback answers from when the database is down."""
    return [Job("refresh_fallback", refresh_fallback, 60)]


def worker_jobs(settings: Settings, role: str = "all") -> list[Job]:
    """The worker's jobs. `serve` splits them over two kinds of child:
    `route` (texts, escalations, notices: what decides and queues) and
    `send` (the outbox: what waits on Twilio); `all` is one process doing both."""
    route = [
        Job("route_inbox", route_inbox, settings.inbox_poll_seconds),
        Job("escalation_tick", escalation_tick, settings.escalation_tick_seconds),
        MINUTE_CHECKS.as_job(),
        Job("retry_stuck_texts", retry_stuck_texts, 60),
        Job("retention", retention, 600),
        Job("refresh_fallback", refresh_fallback, 60),
    ]
    send = [Job("outbox_sweep", outbox_sweep, max(1.0, settings.escalation_tick_seconds))]
    return {"all": route + send, "route": route, "send": send}[role]


def declared_jobs(settings: Settings, *, worker: bool = True, role: str = "all") -> list[Job]:
    """Every job of a worker in `role` (all, route, send), else only what a
    web process needs for itself."""
    return worker_jobs(settings, role) if worker else web_jobs(settings)


def _isolated(name: str, run: JobRun, runtime: Runtime) -> None:
    try:
        run(runtime)
    except Exception as exc:  # a failed job must not stop the next one
        log.error("job_failed", job=name, error=type(exc).__name__, exc_info=exc)


class Scheduler:
    """Runs the declared jobs on an interval, each call isolated and logged."""

    def __init__(self, runtime: Runtime, jobs: list[Job]):
        self._runtime = runtime
        self._jobs = jobs
        self._scheduler = BackgroundScheduler(timezone="UTC")

    def start(self) -> None:
        for job in self._jobs:
            # coalesce + max_instances=1: a slow tick is skipped, never stacked;
            # a missed tick is harmless because due rows are still due.
            self._scheduler.add_job(
                _isolated,
                "interval",
                args=(job.name, job.run, self._runtime),
                seconds=job.seconds,
                id=job.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
