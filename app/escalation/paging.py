"""Paging a person by their notification rules, and the report of it.

Kept whole with its report: the report reads back the steps and
events written here, in the same words; the tick's firing of rules that fell
due is in `due_rules`.

When a level of a contact's plan is notified (or the supervisors are alerted
that nobody answered), each person paged gets one `PageStep` row per rule.
Rules due at once fire in the same transaction; the rest wait in the table
and the tick fires them (`due_rules.fire_due`, FOR UPDATE SKIP LOCKED, so each fires
once across instances). A rule whose moment has come after someone
acknowledged, the contact closed or the plan moved past that level is
stopped instead: an acknowledgement by anyone ends everybody's remaining rules.

A fired SMS rule is the level's notification text; a fired call rule is an
outbox row (purpose `page_call`) that the dispatcher hands to Twilio's
Calls API, whose TwiML comes from /twilio/voice/page (app.inbound.page_call).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import select
from sqlmodel import Session, col

from app.contacts import service as contacts
from app.contacts.models import Contact, ContactEvent, ContactStatus, EventKind
from app.db import table_of
from app.escalation import notify_rules
from app.escalation.models import PageStep
from app.escalation.staff_texts import level_notification, staff_sms
from app.i18n import N_, _
from app.messaging import texts
from app.messaging.models import MessagePurpose, OutboundMessage
from app.messaging.outbox import QueuedMessage, enqueue
from app.settings import Settings
from app.teams.models import Staff, Team
from app.teams.service import active_supervisors

NOTIFY = MessagePurpose.NOTIFY  # a level of the contact's plan
ALERT = MessagePurpose.ALERT  # the supervisors' "nobody answered" alert
REALERT = MessagePurpose.REALERT  # ... and again, every unanswered_repeat_seconds
REMIND = MessagePurpose.REMIND  # the holder: the client has waited a reply timeout
KEEP_ASK = MessagePurpose.KEEP_ASK  # the holder: their shift ended, KEEP it?
PAGE_CALL = MessagePurpose.PAGE_CALL  # an outbox row that is a call
# Pages about an unanswered contact, and pages to the person holding one.
ALERTS = (ALERT, REALERT)
TO_HOLDER = (REMIND, KEEP_ASK)

_INSERT_STEPS = table_of(PageStep).insert()


def page_call_url(
    settings: Settings, *, contact_id: int, level: int, staff_id: int, purpose: str
) -> str:
    query = urlencode(
        {"contact": contact_id, "level": level, "staff": staff_id, "purpose": purpose}
    )
    return f"{settings.public_base_url}/twilio/voice/page?{query}"


def rules_for(staff: Staff, team: Team, contact: Contact) -> tuple[notify_rules.Rule, ...]:
    return notify_rules.effective(
        staff.notify_rules,
        sms_ok=not staff.sms_opted_out,
        minimum=team.priority_notify_minimum if contact.priority == "high" else None,
    )


@dataclass(frozen=True)
class Page:
    """What a person is paged about: a contact, at a level, for a purpose
    (`NOTIFY`, `ALERT`, …); `label` names the level on the timeline."""

    contact: Contact
    team: Team
    level: int
    purpose: str
    label: str | None = None


def page_person(
    *, session: Session, page: Page, staff: Staff, now: datetime, settings: Settings
) -> bool:
    """Page one person by their rules: what is due now fires now, the rest
    is written down for the tick. False when nothing can reach them (their
    only rule was a text, and the number opted out)."""
    rows = []
    for position, rule in enumerate(rules_for(staff, page.team, page.contact)):
        row = dict(
            contact_id=page.contact.id,
            staff_id=staff.id,
            level=page.level,
            purpose=page.purpose,
            position=position,
            channel=rule.channel,
            after_seconds=rule.after_seconds,
            due_at=now + timedelta(seconds=rule.after_seconds),
            status="pending",
            message_id=None,
            fired_at=None,
            created_at=now,
        )
        if rule.after_seconds == 0:
            row.update(
                fire_rule(
                    session=session,
                    page=page,
                    staff=staff,
                    channel=rule.channel,
                    position=position,
                    now=now,
                    settings=settings,
                )
            )
        rows.append(row)
    with session.no_autoflush:
        session.execute(_INSERT_STEPS, rows)
    return any(row["status"] != "suppressed" for row in rows)


def page_supervisors(*, session: Session, page: Page, now: datetime, settings: Settings) -> None:
    """Page every active supervisor of the team, each by their own rules."""
    for supervisor in active_supervisors(session=session, team_id=page.team.id):
        page_person(session=session, page=page, staff=supervisor, now=now, settings=settings)


def text_staff(
    *, session: Session, page: Page, staff: Staff, now: datetime, settings: Settings
) -> QueuedMessage | None:
    """Queue the page's text to one person (None: their number opted out).
    A level's first text to them is followed by the client's texts it could
    not carry whole, in full."""
    if page.purpose != MessagePurpose.NOTIFY:
        body = staff_sms(
            session=session,
            contact=page.contact,
            staff_id=staff.id,
            level=page.level,
            purpose=page.purpose,
            now=now,
            settings=settings,
        )
        words_after: list[str] = []
    else:
        body, words_after = level_notification(
            session=session,
            contact=page.contact,
            staff_id=staff.id,
            level=page.level,
            now=now,
            settings=settings,
        )
        if words_after and _texted_at_level(session, page, staff):
            words_after = []  # a later rule's text: the words went with the first
    message = enqueue(
        session=session,
        team=page.team,
        to_number=staff.phone,
        body=body,
        purpose=page.purpose,
        contact_id=page.contact.id,
        staff_id=staff.id,
        level=page.level,
        now=now,
    )
    if message is not None:
        for words in words_after:
            for part in texts.relay_to_staff(contact_id=page.contact.id, body=words):
                enqueue(
                    session=session,
                    team=page.team,
                    to_number=staff.phone,
                    body=part,
                    purpose=MessagePurpose.RELAY,
                    contact_id=page.contact.id,
                    staff_id=staff.id,
                    now=now,
                )
    return message


def _texted_at_level(session: Session, page: Page, staff: Staff) -> bool:
    return (
        session.execute(
            select(col(ContactEvent.id)).where(
                col(ContactEvent.contact_id) == page.contact.id,
                col(ContactEvent.staff_id) == staff.id,
                col(ContactEvent.level) == page.level,
                col(ContactEvent.kind) == EventKind.NOTIFIED,
            )
        ).first()
        is not None
    )


def fire_rule(
    *,
    session: Session,
    page: Page,
    staff: Staff,
    channel: str,
    position: int,
    now: datetime,
    settings: Settings,
) -> dict:
    """Send one rule: the SMS, or the call queued in the outbox. Returns the step's new state."""
    contact, level, purpose = page.contact, page.level, page.purpose
    if channel == notify_rules.CALL:
        message = enqueue(
            session=session,
            team=page.team,
            to_number=staff.phone,
            body=page_call_url(
                settings, contact_id=contact.id, level=level, staff_id=staff.id, purpose=purpose
            ),
            purpose=PAGE_CALL,
            contact_id=contact.id,
            staff_id=staff.id,
            level=level,
            now=now,
            sms=False,
        )
    else:
        message = text_staff(session=session, page=page, staff=staff, now=now, settings=settings)
    contacts.record_event(
        session=session,
        contact=contact,
        kind=event_kind(purpose, channel) if message else EventKind.NOTIFY_SUPPRESSED,
        at=now,
        staff_id=staff.id,
        level=level,
        data=event_data(
            label=page.label or _LABELS.get(purpose, ""),
            purpose=purpose,
            channel=channel,
            position=position,
            message_id=message.id if message else None,
        ),
    )
    return {
        "status": "fired" if message else "suppressed",
        "message_id": message.id if message else None,
        "fired_at": now,
    }


# The timeline's word for a fired rule: a level's text stays `notified` (as
# before rules existed); its call is `called`; the supervisors' alert is `alerted`.
PAGED_KINDS = (EventKind.NOTIFIED, EventKind.CALLED, EventKind.ALERTED)


_LABELS: dict[str, str] = {
    ALERT: "unanswered alert",
    REALERT: "unanswered alert",
    REMIND: "client waiting",
    KEEP_ASK: "shift ended",
}


def event_kind(purpose: str, channel: str) -> EventKind:
    # Only a level's own text is `notified` (a level's wait counts from it,
    # and a case manager may read a contact they were notified of).
    if purpose in ALERTS or purpose in TO_HOLDER:
        return EventKind.ALERTED
    return EventKind.CALLED if channel == notify_rules.CALL else EventKind.NOTIFIED


def event_data(
    *, label: str, purpose: str, channel: str, position: int, message_id: int | None
) -> dict[str, object]:
    """A fired rule's timeline data: which rule, and its message (or why none)."""
    return {
        "label": label,
        **({"purpose": purpose} if purpose != NOTIFY else {}),
        "channel": channel,
        "rule": position,
        **({"message_id": message_id} if message_id is not None else {"reason": "opted_out"}),
    }


def holder_still_asked(purpose: str, staff_id: int, contact: Contact) -> bool:
    """A page to the holder is still wanted while they hold the contact and
    have not answered it: the client still waits on them (REMIND), or they
    have not said KEEP and it has not passed yet (KEEP_ASK)."""
    if contact.status != ContactStatus.ACKNOWLEDGED or contact.acknowledged_by != staff_id:
        return False
    if purpose == REMIND:
        return contact.reply_reminders >= 1 and contact.next_escalation_at is not None
    return contact.handover_due_at is not None


def still_wanted(step: PageStep, contact: Contact | None) -> bool:
    """Whether a rule due now should still fire: nobody has taken the contact
    and it is still at the step's level (a level's rules), still unanswered
    (the supervisors' alerts), or its holder still has not answered (a page
    to the holder)."""
    if contact is None:
        return False
    if step.purpose in ALERTS:
        return contact.status == ContactStatus.UNANSWERED
    if step.purpose in TO_HOLDER:
        return holder_still_asked(step.purpose, step.staff_id, contact)
    if contact.status != ContactStatus.OPEN or contact.level != step.level:
        return False
    # A handover may plan the contact afresh from level 1: a rule left over
    # from the old plan's level 1 is not for the people the new one pages.
    plan = contact.plan or []
    return step.level <= len(plan) and step.staff_id in (
        plan[step.level - 1].get("staff_ids") or []
    )


def _level_label(contact: Contact, level: int) -> str:
    if contact.plan and 1 <= level <= len(contact.plan):
        return str(contact.plan[level - 1].get("label") or "")
    return ""


def step_label(step: PageStep, contact: Contact) -> str:
    if step.purpose == NOTIFY:
        return _level_label(contact, step.level)
    return _LABELS.get(step.purpose, "")


def steps_of(*, session: Session, contact_id: int) -> list[PageStep]:
    return list(
        session.execute(
            select(PageStep)
            .where(col(PageStep.contact_id) == contact_id)
            .order_by(col(PageStep.level), col(PageStep.staff_id), col(PageStep.position))
        ).scalars()
    )


# ---------------------------------------------------------------- what happened


def _call_outcome(call_events: list, row_status: str | None) -> str:
    """A page call's story in a few words, from its legs' events."""
    pressed = [e for e in call_events if e.kind == EventKind.PAGE_CALL_PRESSED]
    digits = pressed[0].data.get("digits") if pressed else None
    if digits == "1":
        return "pressed 1"
    if digits == "2":
        return "pressed 2 (passed)"
    ended = [e for e in call_events if e.kind == EventKind.PAGE_CALL_ENDED]
    answered = any(e.kind == EventKind.PAGE_CALL_ANSWERED for e in call_events)
    if ended:
        status = ended[0].data.get("status")
        if status == "completed" or answered:
            return "answered without 1"
        return str(status)
    if answered:
        return "answered"
    if row_status == "canceled":
        return "not needed"
    return "calling" if row_status else "queued"


def report(*, session: Session, contact: Contact) -> list[dict]:
    """Per person paged and level: each rule, whether it fired and what became
    of it (sent, delivered, pressed 1, answered without 1, busy, …)."""
    steps = steps_of(session=session, contact_id=contact.id)
    if not steps:
        return []
    message_ids = [s.message_id for s in steps if s.message_id]
    messages = {
        m.id: m
        for m in session.execute(
            select(OutboundMessage).where(col(OutboundMessage.id).in_(message_ids))
        ).scalars()
    }
    call_events: dict[str, list] = {}
    for event in session.execute(
        select(ContactEvent).where(
            col(ContactEvent.contact_id) == contact.id, col(ContactEvent.kind).like("page_call_%")
        )
    ).scalars():
        sid = (event.idempotency_key or "").split(":", 1)[0]
        call_events.setdefault(sid, []).append(event)
    names = {
        s.id: s.name
        for s in session.execute(
            select(Staff).where(col(Staff.id).in_({step.staff_id for step in steps}))
        ).scalars()
    }
    people: dict[tuple, dict] = {}
    for step in steps:
        person = people.setdefault(
            (step.level, step.purpose, step.staff_id),
            {
                "staff_id": step.staff_id,
                "name": names.get(step.staff_id),
                "level": step.level,
                "purpose": step.purpose,
                "rules": [],
            },
        )
        message = messages.get(step.message_id) if step.message_id else None
        if step.status == "pending":
            outcome = "waiting" if still_wanted(step, contact) else "stopped"
        elif step.status in ("stopped", "suppressed"):
            outcome = "stopped" if step.status == "stopped" else "opted out"
        elif step.channel == notify_rules.CALL:
            outcome = _call_outcome(
                call_events.get(message.provider_sid or "", []) if message else [],
                message.status if message else None,
            )
        else:
            outcome = message.status if message else "sent"
        person["rules"].append(
            {
                "channel": step.channel,
                "after_seconds": step.after_seconds,
                "fired": step.status == "fired",
                "fired_at": step.fired_at,
                "outcome": outcome,
            }
        )
    return list(people.values())


# What WHO says of a rule: its channel and outcome in the reader's language
# (the API keeps the English words as codes). Twilio's message and call
# statuses, and the outcomes `report` makes of them.
CHANNEL_WORDS = {notify_rules.SMS: N_("sms"), notify_rules.CALL: N_("call")}
OUTCOME_WORDS = {
    word: word
    for word in (
        N_("waiting"),
        N_("stopped"),
        N_("opted out"),
        N_("pressed 1"),
        N_("pressed 2 (passed)"),
        N_("answered without 1"),
        N_("answered"),
        N_("not needed"),
        N_("calling"),
        N_("pending"),
        N_("sending"),
        N_("accepted"),
        N_("queued"),
        N_("sending_twilio"),
        N_("sent"),
        N_("stored"),
        N_("delivered"),
        N_("read"),
        N_("undelivered"),
        N_("failed"),
        N_("busy"),
        N_("no-answer"),
        N_("canceled"),
        N_("completed"),
    )
}


def _word(words: dict[str, str], value: str, lang: str) -> str:
    known = words.get(value)
    return _(lang, known) if known else value


def summary_line(pages: list[dict], lang: str) -> str:
    """`Casey: sms delivered, call pressed 1; Bea: sms sent` for WHO."""
    nothing_yet = _(lang, "nothing yet")
    parts = []
    for person in pages:
        rules = ", ".join(
            f"{_word(CHANNEL_WORDS, rule['channel'], lang)} "
            f"{_word(OUTCOME_WORDS, rule['outcome'], lang)}"
            for rule in person["rules"]
            if rule["fired"]
        )
        first = (person["name"] or "?").split(" ")[0]
        parts.append(f"{first}: {rules or nothing_yet}")
    return "; ".join(parts)
