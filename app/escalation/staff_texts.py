"""The texts that page a person about a contact: a level's notification
(who, the plan link, the client's words so far), the supervisors' alert that
nobody answered, or the holder's reminder and shift-end question. Shared by
the engine, the hand-over and the notification rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from app.clients.models import Client
from app.clients.plan_links import create_plan_link
from app.contacts import service as contacts
from app.contacts.models import Channel, Contact, ContactEvent, EventKind
from app.messaging import texts
from app.messaging.models import MessagePurpose
from app.routing import plan_from_json
from app.settings import Settings
from app.teams.models import Staff, Team


def caller_name(
    session: Session, contact: Contact, lang: str, words: Callable[..., str] = texts.who_label
) -> str:
    """Who the contact is from (the client's preferred name, the caller's
    relation, whether the number is shared), put in `words`: a text's label
    by default, or the call screen's `voice_chain.screen_who`."""
    client = session.get(Client, contact.client_id) if contact.client_id else None
    return words(
        preferred_name=client.preferred_name if client else None,
        relation=contact.caller_relation,
        ambiguous=bool(contact.candidate_client_ids),
        lang=lang,
    )


def _client_texts(session: Session, contact: Contact, team: Team, lang: str) -> list[str]:
    """What the client has texted so far, oldest first, one item a text,
    spaces collapsed: the people paged see the words before they answer. An
    attachment is named among them (`(sent a photo)`); the link shows it."""
    if contact.channel != Channel.SMS or not team.notify_include_text:
        return []
    said = []
    for data in contacts.received_texts(session=session, contact_id=contact.id):
        words = str(data.get("body") or "").strip()
        media = data.get("media") or []
        if media and isinstance(media, list):
            words = f"{words} {texts.sent_media_words(media, lang)}".strip()
        if words := " ".join(words.split()):
            said.append(words)
    return said


def _notification_with_words(body: str, said: list[str], lang: str) -> tuple[str, list[str]]:
    """The notification carrying the texts that fit (joined by " / "), and
    the texts it does not carry whole, which follow it as relays."""
    if not said:
        return body, []
    notification, kept = texts.cut_words(body, " / ".join(said), lang)
    end = 0
    for position, words in enumerate(said):
        end += len(words) + (3 if position else 0)
        if end > kept:
            return notification, said[position:]
    return notification, []


def _plan_url(
    session: Session, contact: Contact, staff_id: int, now: datetime, settings: Settings
) -> str | None:
    if not contact.client_id and contact.channel != Channel.SMS:
        return None  # an unknown caller's call: no plan and no texts to show

    return create_plan_link(
        session=session,
        client_id=contact.client_id,
        staff_id=staff_id,
        contact_id=contact.id,
        now=now,
        settings=settings,
    )


def staff_sms(
    *,
    session: Session,
    contact: Contact,
    staff_id: int,
    level: int,
    purpose: str,
    now: datetime,
    settings: Settings,
) -> str:
    """The SMS that pages a person: a level's notification, or the supervisors'
    alert that nobody answered."""
    lang = session.get_one(Staff, staff_id).language
    if purpose == MessagePurpose.ALERT:
        return texts.unanswered_alert(
            contact_id=contact.id, from_number=contact.from_number, lang=lang
        )
    if purpose == MessagePurpose.REALERT:
        return texts.unanswered_again_alert(
            contact_id=contact.id,
            from_number=contact.from_number,
            minutes=max(1, round((now - contact.created_at).total_seconds() / 60)),
            lang=lang,
        )
    if purpose in (MessagePurpose.REMIND, MessagePurpose.KEEP_ASK):
        return holder_sms(session=session, contact=contact, purpose=purpose, lang=lang)
    return level_notification(
        session=session, contact=contact, staff_id=staff_id, level=level, now=now, settings=settings
    )[0]


def level_notification(
    *,
    session: Session,
    contact: Contact,
    staff_id: int,
    level: int,
    now: datetime,
    settings: Settings,
) -> tuple[str, list[str]]:
    """A level's notification to one person, and the client's texts it could
    not carry whole (a long text, or many): those follow it, in full, as
    `#12: …` relays, so every word reaches the people paged."""
    lang = session.get_one(Staff, staff_id).language
    step = plan_from_json(contact.plan)[level - 1]
    body = texts.staff_notification(
        contact_id=contact.id,
        level=level,
        label=step.label,
        who=caller_name(session, contact, lang),
        lang=lang,
        client_language=contact.language,
        from_number=contact.from_number,
        plan_url=_plan_url(session, contact, staff_id, now, settings),
        has_plan=contact.client_id is not None,
        channel=contact.channel,
        high_priority=contact.priority == "high",
    )
    said = _client_texts(session, contact, session.get_one(Team, contact.team_id), lang)
    return _notification_with_words(body, said, lang)


def plan_link(
    session: Session, contact: Contact, staff_id: int, now: datetime, settings: Settings
) -> str | None:
    """The short-lived link a paged person opens: the conversation, and the
    client's plan when the caller is a known client."""
    return _plan_url(session, contact, staff_id, now, settings)


# How long a holder whose shift ended has to KEEP a contact (app.escalation.handover).
KEEP_WINDOW = timedelta(minutes=10)


def last_client_words(session: Session, contact: Contact) -> str:
    event = (
        session.execute(
            select(ContactEvent)
            .where(
                col(ContactEvent.contact_id) == contact.id,
                col(ContactEvent.kind) == EventKind.RECEIVED,
            )
            .order_by(col(ContactEvent.at).desc(), col(ContactEvent.id).desc())
            .limit(1)
        )
        .scalars()
        .first()
    )
    return (event.data or {}).get("body", "") if event else ""


def holder_sms(*, session: Session, contact: Contact, purpose: str, lang: str) -> str:
    """The text of a page to the holder: the client is waiting (REMIND), or
    their shift ended (KEEP_ASK)."""
    if purpose == MessagePurpose.REMIND:
        return texts.waiting_for_you(
            contact_id=contact.id, words=last_client_words(session, contact), lang=lang
        )
    asked = (
        session.execute(
            select(col(ContactEvent.data))
            .where(
                col(ContactEvent.contact_id) == contact.id,
                col(ContactEvent.kind) == EventKind.SHIFT_END_ASKED,
            )
            .order_by(col(ContactEvent.id).desc())
            .limit(1)
        ).scalar_one_or_none()
        or {}
    )
    successor = session.get(Staff, asked["to_staff_id"]) if asked.get("to_staff_id") else None
    return texts.shift_ended_question(
        contact_id=contact.id,
        next_name=successor.name if successor else None,
        minutes=int(KEEP_WINDOW.total_seconds() // 60),
        lang=lang,
    )
