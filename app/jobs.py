"""Every periodic job, declared in one place.

APScheduler only ticks: each job loads due rows from the database, decides
with `now`, writes back and commits. Nothing in memory is the source of
truth, so a restart or a second instance changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[object], object]  # takes the app runtime (app.state)
    seconds: float


def declared_jobs(settings, *, worker: bool = True, role: str = "all") -> list[Job]:
    """Every job of a worker in `role` (all, route, send), else only what a
    web process needs for itself."""
    # Imported here so importing this module stays cheap and cycle-free.
    from app.escalation import worker as jobs

    return jobs.jobs(settings, role) if worker else jobs.web_jobs(settings)


class Scheduler:
    """Runs the declared jobs on an interval, each call isolated and logged."""

    def __init__(self, state, jobs: list[Job]):
        self._state = state
        self._jobs = jobs
        self._scheduler = BackgroundScheduler(timezone="UTC")

    def _runner(self, job: Job) -> Callable[[], None]:
        def run() -> None:
            try:
                job.run(self._state)
            except Exception as exc:  # a failed tick must not stop the next one
                log.error("job_failed", job=job.name, error=type(exc).__name__, exc_info=exc)

        return run

    def start(self) -> None:
        for job in self._jobs:
            # coalesce + max_instances=1: a slow tick is skipped, never stacked;
            # a missed tick is harmless because due rows are still due.
            self._scheduler.add_job(
                self._runner(job),
                "interval",
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
