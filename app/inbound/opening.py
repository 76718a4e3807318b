"""Who a text or call is from, and the contact it opens (SMS and voice alike)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from app.clients.models import Client, ClientPhone
from app.contacts import service as contacts
from app.contacts.models import Contact, ContactEvent, EventKind
from app.messaging.models import MessagePurpose
from app.messaging.outbox import enqueue
from app.teams.models import Team


@dataclass(frozen=True)
class CallerIdentity:
    client_id: int | None
    relation: str | None
    candidate_client_ids: tuple[int, ...] = ()


# The client rows come with the match: planning the contact reads the client
# next, and finds it in the session instead of asking again.
_CALLER_PHONES = (
    select(col(ClientPhone.relation), Client)
    .join(Client, col(Client.id) == col(ClientPhone.client_id))
    .where(
        col(ClientPhone.number) == bindparam("number"),
        col(Client.team_id) == bindparam("team_id"),
        col(Client.status) == "active",
    )
)


def identify_caller(*, session: Session, team_id: int, number: str) -> CallerIdentity:
    """A client's own phone or a registered family/guardian phone; a number
    shared by several active clients is ambiguous (routed as unknown)."""
    rows = session.execute(_CALLER_PHONES, {"number": number, "team_id": team_id}).all()
    # Held for the transaction: the identity map keeps a row only while it is referenced.
    session.info.setdefault("routing_rows", []).extend(row.Client for row in rows)
    client_ids = sorted({row.Client.id for row in rows})
    if len(client_ids) == 1:
        return CallerIdentity(client_id=client_ids[0], relation=rows[0].relation)
    if len(client_ids) > 1:
        return CallerIdentity(client_id=None, relation=None, candidate_client_ids=tuple(client_ids))
    return CallerIdentity(client_id=None, relation=None)


def new_contact(
    *,
    team: Team,
    channel: str,
    from_number: str,
    caller: CallerIdentity,
    now: datetime,
    **fields: Any,
) -> Contact:
    """The row of the contact a text or call opens, not yet written."""
    return Contact(
        team_id=team.id,
        channel=channel,
        from_number=from_number,
        client_id=caller.client_id,
        candidate_client_ids=list(caller.candidate_client_ids),
        caller_relation=caller.relation,
        created_at=now,
        updated_at=now,
        **fields,
    )


def open_contact(
    *,
    session: Session,
    contact: Contact,
    caller: CallerIdentity,
    received: ContactEvent,
    now: datetime,
    keyed: bool = False,
) -> bool:
    """Write a new contact with its first event (`received`), and flag a
    caller whose number several clients share.

    `keyed`: the first event is inserted against its idempotency key, and a
    concurrent delivery that won the race leaves nothing written (False). A
    text needs no key here: the inbox routes a MessageSid once and looked
    for its event under the sender's lock; should a duplicate slip through
    anyway, the insert fails, the inbox rolls back and retries, and the retry
    finds the event."""
    session.add(contact)
    session.flush()
    received.contact_id = contact.id
    if keyed:
        if not contacts.insert_idempotent(session=session, event=received):
            session.delete(contact)
            session.flush()
            return False
    else:
        session.add(received)
    if caller.candidate_client_ids:
        contacts.record_event(
            session=session,
            contact=contact,
            kind=EventKind.AMBIGUOUS_CALLER,
            at=now,
            data={"candidate_client_ids": list(caller.candidate_client_ids)},
        )
    return True


def send_auto_reply(
    *, session: Session, team: Team, contact: Contact, to_number: str, body: str, now: datetime
) -> None:
    """The reply to the text that opened the contact, and its record: sent,
    or suppressed for a number that opted out."""
    reply = enqueue(
        session=session,
        team=team,
        to_number=to_number,
        body=body,
        purpose=MessagePurpose.AUTO_REPLY,
        contact_id=contact.id,
        now=now,
    )
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.AUTO_REPLY_SENT if reply else EventKind.AUTO_REPLY_SUPPRESSED,
        at=now,
        data={"message_id": reply.id} if reply else {"reason": "opted_out"},
    )
