"""The background work of an instance: route recorded texts, dispatch the
outbox, advance due escalations, send notices."""

from __future__ import annotations

from app.escalation.engine import tick
from app.jobs import Job


def escalation_tick(state) -> None:
    runtime = state.runtime
    tick(db=runtime.db, now=runtime.now(), settings=runtime.settings)
    # Messages the escalation just queued, and any retry that fell due.
    runtime.dispatcher.kick()


def outbox_sweep(state) -> None:
    state.runtime.dispatcher.apply_early_callbacks()
    state.runtime.dispatcher.drain(max_rounds=10)


def forget_unclaimed_callbacks(*, session, now) -> None:
    """Early status callbacks nobody claimed within a day were for messages
    that are not ours (another app on the number) or never written."""
    from datetime import timedelta

    from sqlalchemy import delete

    from app.messaging.models import EarlyStatusCallback

    session.execute(
        delete(EarlyStatusCallback).where(EarlyStatusCallback.received_at < now - timedelta(days=1))
    )


def rota_notices(state) -> None:
    from app.escalation.handover import check_holders
    from app.escalation.notices import (
        send_coverage_checks,
        send_shift_notices,
        send_unreachable_checks,
    )
    from app.outcomes.service import send_due_follow_ups

    runtime = state.runtime
    with runtime.db.session() as session:
        now = runtime.now()
        check_holders(session=session, now=now, settings=runtime.settings)
    with runtime.db.session() as session:
        send_shift_notices(session=session, now=now)
        send_coverage_checks(session=session, now=now)
        send_unreachable_checks(session=session, now=now)
        send_due_follow_ups(session=session, now=now)
        forget_unclaimed_callbacks(session=session, now=now)
    if runtime.inbox_landing is not None:
        runtime.inbox_landing.forget_moved(now=runtime.now())
    runtime.dispatcher.kick()


ROUTE_THEN_SEND_IN_LINE = 5


def route_inbox(state) -> None:
    """Route recorded texts, and have what each transaction queued
    (auto-replies, notifications) sent at once rather than on the next sweep:
    by the worker's background sender while the next texts are routed, or
    (without one) right away."""
    from app.inbound.inbox import BATCH, ROUTED_TOGETHER, route_pending

    runtime = state.runtime
    kick = runtime.dispatcher.kick
    # A background sender is kicked after every transaction (a flag set);
    # sending in line waits on Twilio, so then after every few texts.
    together = (
        ROUTED_TOGETHER if runtime.dispatcher.sends_in_background else ROUTE_THEN_SEND_IN_LINE
    )
    # A backlog is routed without a pause. Otherwise what arrives while a
    # group is routed waits for the next look (INBOX_POLL_SECONDS) and is
    # routed with what arrives beside it: at 50 texts/s, looking again at once
    # routed most texts one a transaction, each paying for the team's reads
    # and a commit of its own.
    while (
        route_pending(runtime, together=together, between=kick, unless_fewer_than=together) >= BATCH
    ):
        kick()


def retry_stuck_texts(state) -> None:
    """Texts neither routing nor the minimal plan could open: tried again every minute."""
    from app.inbound.dead_letter import retry_stuck

    runtime = state.runtime
    if retry_stuck(runtime):
        runtime.dispatcher.kick()


def retention(state) -> None:
    """Erase what each team keeps past its message_retention_days, once a day."""
    from app.contacts.retention import purge_due

    runtime = state.runtime
    with runtime.db.session() as session:
        purge_due(session=session, now=runtime.now())


def refresh_fallback(state) -> None:
    state.runtime.refresh_fallback_numbers()


def web_jobs(settings) -> list[Job]:
    """What every web process runs, worker or not: its copy of the fallback
    numbers that /twilio/fallback answers from when the database is down."""
    return [Job("refresh_fallback", refresh_fallback, 60)]


ROLES = ("all", "route", "send")


def jobs(settings, role: str = "all") -> list[Job]:
    """The worker's jobs. `serve` splits them over two kinds of child:
    `route` (texts, escalations, notices: what decides and queues) and
    `send` (the outbox: what waits on Twilio); `all` is one process doing both."""
    route = [
        Job("route_inbox", route_inbox, settings.inbox_poll_seconds),
        Job("escalation_tick", escalation_tick, settings.escalation_tick_seconds),
        Job("rota_notices", rota_notices, 60),
        Job("retry_stuck_texts", retry_stuck_texts, 60),
        Job("retention", retention, 600),
        Job("refresh_fallback", refresh_fallback, 60),
    ]
    send = [Job("outbox_sweep", outbox_sweep, max(1.0, settings.escalation_tick_seconds))]
    return {"all": route + send, "route": route, "send": send}[role]
