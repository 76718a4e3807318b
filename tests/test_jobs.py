"""Every periodic job is declared in app/jobs.py, under its own name."""

from __future__ import annotations

from app import jobs
from app.settings import load_settings


def _names(job_list: list[jobs.Job]) -> list[str]:
    return [job.name for job in job_list]


def test_the_route_and_send_workers_share_the_jobs_of_one_that_does_all():
    settings = load_settings(database_url="sqlite://")
    route = jobs.declared_jobs(settings, role="route")
    send = jobs.declared_jobs(settings, role="send")
    assert _names(jobs.declared_jobs(settings, role="all")) == _names(route) + _names(send)
    assert "outbox_sweep" not in _names(route)
    assert _names(send) == ["outbox_sweep"]
    assert _names(jobs.declared_jobs(settings, worker=False)) == ["refresh_fallback"]


def test_a_job_of_a_round_that_raises_does_not_stop_the_next_one():
    ran: list[str] = []

    def first(runtime) -> None:
        ran.append("first")
        raise RuntimeError("boom")

    def second(runtime) -> None:
        ran.append("second")

    round_ = jobs.Round("checks", (first, second), 60).as_job()
    round_.run(object())
    assert ran == ["first", "second"]


def test_the_minute_checks_are_named_jobs():
    names = [job.__name__ for job in jobs.MINUTE_CHECKS.jobs]
    assert names[0] == "holders_check"  # hand-overs first, then what they leave to tell
    assert {"shift_notices", "coverage_checks", "unreachable_checks", "follow_ups"} <= set(names)
    assert names[-1] == "send_queued"
