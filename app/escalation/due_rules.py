"""Notification rules whose moment came, fired by the tick: the steps that
`paging.page_person` wrote down are claimed FOR UPDATE SKIP LOCKED (several
instances share the work, none fires a rule another is firing), stopped when
nobody needs waking any more, and fired; due calls are queued together."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import bindparam, select
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from app.contacts.models import Contact, ContactEvent
from app.db import Database, table_of
from app.escalation import notify_rules, paging
from app.escalation.models import PageStep
from app.messaging.models import OutboundMessage
from app.messaging.outbox import outbox_row
from app.settings import Settings
from app.teams.models import Staff, Team

log = structlog.get_logger(__name__)


def fire_due(*, db: Database, now: datetime, settings: Settings, batch: int = 500) -> int:
    """Fire every rule whose moment has come (or stop it, when nobody needs
    waking any more). Steps are claimed FOR UPDATE SKIP LOCKED: several
    instances share the work and none fires a rule another is firing."""
    fired = 0
    while True:
        with db.session() as session:
            query = (
                select(PageStep)
                .where(col(PageStep.status) == "pending", col(PageStep.due_at) <= now)
                .order_by(col(PageStep.due_at), col(PageStep.id))
                .limit(batch)
            )
            if db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            due = list(session.execute(query).scalars())
            ids = {step.contact_id for step in due}
            found = {
                c.id: c
                for c in session.execute(select(Contact).where(col(Contact.id).in_(ids))).scalars()
            }
            wanted = []
            for step in due:
                if paging.still_wanted(step, found.get(step.contact_id)):
                    wanted.append(step)
                else:
                    step.status = "stopped"
                    session.add(step)
            calls = [step for step in wanted if step.channel == notify_rules.CALL]
            fired += _fire_calls(
                session=session, steps=calls, contacts=found, now=now, settings=settings
            )
            for step in wanted:
                if step.channel != notify_rules.CALL:
                    fired += _fire_one(
                        session=session,
                        step=step,
                        contact=found[step.contact_id],
                        now=now,
                        settings=settings,
                    )
        if len(due) < batch:
            return fired


def _fire_one(
    *, session: Session, step: PageStep, contact: Contact, now: datetime, settings: Settings
) -> int:
    """Fire one rule in a savepoint of its own: a failure is retried shortly
    and holds back no other rule."""
    try:
        with session.begin_nested():
            page = paging.Page(
                contact=contact,
                team=session.get_one(Team, contact.team_id),
                level=step.level,
                purpose=step.purpose,
                label=paging.step_label(step, contact),
            )
            result = paging.fire_rule(
                session=session,
                page=page,
                staff=session.get_one(Staff, step.staff_id),
                channel=step.channel,
                position=step.position,
                now=now,
                settings=settings,
            )
            for key, value in result.items():
                setattr(step, key, value)
            session.add(step)
            return 1
    except Exception as exc:
        log.error(
            "page_rule_failed", contact_id=step.contact_id, error=type(exc).__name__, exc_info=exc
        )
        # Try again shortly rather than spin on it every tick.
        step.due_at = now + timedelta(seconds=5)
        session.add(step)
        return 0


_OUTBOX = table_of(OutboundMessage)
_EVENTS = table_of(ContactEvent)
_STEPS = table_of(PageStep)


def _fire_calls(
    *,
    session: Session,
    steps: list[PageStep],
    contacts: dict[int, Contact],
    now: datetime,
    settings: Settings,
) -> int:
    """Due call rules queued together: one INSERT … RETURNING of their outbox
    rows, one of their timeline events, one UPDATE of the steps (a rule at a
    time is seven statements each, too slow when many calls fall due in the
    same second). Should the batch fail, each is fired on its own."""
    if not steps:
        return 0
    try:
        with session.begin_nested():
            staff = {
                s.id: s
                for s in session.execute(
                    select(Staff).where(col(Staff.id).in_({step.staff_id for step in steps}))
                ).scalars()
            }
            teams = {
                t.id: t
                for t in session.execute(
                    select(Team).where(col(Team.id).in_({c.team_id for c in contacts.values()}))
                ).scalars()
            }
            rows = []
            for step in steps:
                contact = contacts[step.contact_id]
                rows.append(
                    outbox_row(
                        team_id=contact.team_id,
                        from_number=teams[contact.team_id].crisis_line_number,
                        to_number=staff[step.staff_id].phone,
                        body=paging.page_call_url(
                            settings,
                            contact_id=contact.id,
                            level=step.level,
                            staff_id=step.staff_id,
                            purpose=step.purpose,
                        ),
                        purpose=paging.PAGE_CALL,
                        contact_id=contact.id,
                        staff_id=step.staff_id,
                        level=step.level,
                        now=now,
                    )
                )
            with session.no_autoflush:
                session.flush()  # the stopped steps before our Core statements
                ids = list(
                    session.execute(
                        _OUTBOX.insert().returning(_OUTBOX.c.id, sort_by_parameter_order=True),
                        rows,
                    ).scalars()
                )
                session.execute(
                    _EVENTS.insert(),
                    [
                        dict(
                            contact_id=step.contact_id,
                            at=now,
                            kind=paging.event_kind(step.purpose, notify_rules.CALL),
                            idempotency_key=None,
                            staff_id=step.staff_id,
                            level=step.level,
                            data=paging.event_data(
                                label=paging.step_label(step, contacts[step.contact_id]),
                                purpose=step.purpose,
                                channel=notify_rules.CALL,
                                position=step.position,
                                message_id=message_id,
                            ),
                        )
                        for step, message_id in zip(steps, ids, strict=True)
                    ],
                )
                session.execute(
                    _STEPS.update()
                    .where(_STEPS.c.id == bindparam("b_id"))
                    .values(status="fired", message_id=bindparam("b_message"), fired_at=now),
                    [
                        {"b_id": step.id, "b_message": message_id}
                        for step, message_id in zip(steps, ids, strict=True)
                    ],
                )
            for step, message_id in zip(steps, ids, strict=True):
                # The rows were written by Core: keep the session's copies in step.
                set_committed_value(step, "status", "fired")
                set_committed_value(step, "message_id", message_id)
                set_committed_value(step, "fired_at", now)
            return len(steps)
    except Exception as exc:
        log.error(
            "page_calls_batch_failed", calls=len(steps), error=type(exc).__name__, exc_info=exc
        )
    return sum(
        _fire_one(
            session=session,
            step=step,
            contact=contacts[step.contact_id],
            now=now,
            settings=settings,
        )
        for step in steps
    )
