"""Who is in a contact's conversation, and the client's words sent to them.

Every word a client sends reaches a human: before acknowledgement everyone
paged at the current level, after it the holder. A contact nobody took
(`unanswered`) goes to everyone it paged and the supervisors, who were told.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app.contacts.models import Contact, ContactEvent, ContactStatus, EventKind
from app.escalation.staff_texts import plan_link
from app.messaging import texts
from app.messaging.models import MessagePurpose
from app.messaging.outbox import enqueue
from app.settings import Settings
from app.teams.models import Staff, Team
from app.teams.service import active_supervisors


def humans_in_conversation(*, session: Session, contact: Contact) -> list[Staff]:
    if contact.status == ContactStatus.ACKNOWLEDGED and contact.acknowledged_by:
        holder = session.get(Staff, contact.acknowledged_by)
        return [holder] if holder is not None else []
    paged = select(col(ContactEvent.staff_id)).where(
        col(ContactEvent.contact_id) == contact.id,
        col(ContactEvent.kind) == EventKind.NOTIFIED,
        col(ContactEvent.staff_id).is_not(None),
    )
    if contact.status == ContactStatus.OPEN:
        paged = paged.where(col(ContactEvent.level) == contact.level)
    ids = list(dict.fromkeys(session.execute(paged.order_by(col(ContactEvent.id))).scalars()))
    people = [s for s in (session.get(Staff, i) for i in ids) if s is not None and s.active]
    if contact.status == ContactStatus.UNANSWERED:
        people += [
            s
            for s in active_supervisors(session=session, team_id=contact.team_id)
            if s.id not in ids
        ]
    return people


def _relay(
    session: Session,
    team: Team,
    contact: Contact,
    people: list[Staff],
    bodies_for: Callable[[Staff], list[str]],
    now: datetime,
) -> int:
    """Queue each person's texts about the contact, in order, as relays; how many people."""
    for person in people:
        for body in bodies_for(person):
            enqueue(
                session=session,
                team=team,
                to_number=person.phone,
                body=body,
                purpose=MessagePurpose.RELAY,
                contact_id=contact.id,
                staff_id=person.id,
                now=now,
            )
    return len(people)


def send_to_conversation(
    *, session: Session, team: Team, contact: Contact, bodies: list[str], now: datetime
) -> int:
    """Queue `bodies` (in order) to each human in the conversation; how many people."""
    people = humans_in_conversation(session=session, contact=contact)
    return _relay(session, team, contact, people, lambda _person: bodies, now)


def relay_client_words(
    *, session: Session, team: Team, contact: Contact, body: str, now: datetime
) -> int:
    """`#12: words` (in parts when long) to the humans in the conversation."""
    return send_to_conversation(
        session=session,
        team=team,
        contact=contact,
        bodies=texts.relay_to_staff(contact_id=contact.id, body=body),
        now=now,
    )


def catch_up(*, session: Session, team: Team, contact: Contact, staff: Staff, now: datetime) -> int:
    """Someone who takes a contact by text without having been texted about
    it (its #id from the board, a colleague's word) has read none of the
    client's words: they are sent all of them, in order, as relays. Returns
    how many texts were sent on."""
    texted = select(col(ContactEvent.id)).where(
        col(ContactEvent.contact_id) == contact.id,
        col(ContactEvent.staff_id) == staff.id,
        col(ContactEvent.kind) == EventKind.NOTIFIED,
    )
    if session.execute(texted.limit(1)).first() is not None:
        return 0
    received = session.execute(
        select(col(ContactEvent.data))
        .where(
            col(ContactEvent.contact_id) == contact.id, col(ContactEvent.kind) == EventKind.RECEIVED
        )
        .order_by(col(ContactEvent.id))
    ).scalars()
    words = [data["body"] for data in received if data.get("body")]
    parts = [
        part for body in words for part in texts.relay_to_staff(contact_id=contact.id, body=body)
    ]
    _relay(session, team, contact, [staff], lambda _person: parts, now)
    return len(words)


def tell_opted_out(
    *, session: Session, team: Team, contact: Contact, word: str, now: datetime
) -> int:
    """The carrier now blocks texts to the client: the people who would text
    them are told, with the number to call (voice never depends on SMS consent)."""

    def notice(person: Staff) -> list[str]:
        return [
            texts.opted_out_notice(
                contact_id=contact.id,
                word=word.strip(),
                from_number=contact.from_number,
                lang=person.language,
            )
        ]

    people = humans_in_conversation(session=session, contact=contact)
    return _relay(session, team, contact, people, notice, now)


def tell_media(
    *,
    session: Session,
    team: Team,
    contact: Contact,
    media: list[dict[str, str]],
    now: datetime,
    settings: Settings,
) -> int:
    """`#12 sent a photo: LINK` to the humans in the conversation, each with a
    link of their own to the page that shows it (an SMS cannot carry it)."""

    def notice(person: Staff) -> list[str]:
        link = plan_link(session, contact, person.id, now, settings)
        return [
            texts.media_notice(contact_id=contact.id, media=media, url=link, lang=person.language)
        ]

    people = humans_in_conversation(session=session, contact=contact)
    return _relay(session, team, contact, people, notice, now)
