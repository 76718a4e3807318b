"""The background work of an instance: dispatch the outbox, advance due escalations."""

from __future__ import annotations

from app.jobs import Job


def jobs(settings) -> list[Job]:
    return []
