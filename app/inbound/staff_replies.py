"""A staff member texting the crisis line: relay, ACK, PASS, DONE, WHO, HELP,
STOP/START. Staff numbers are never exposed: relays go out from the line."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_, select
from sqlmodel import Session, col

from app.contacts import service as contacts
from app.contacts.models import Channel, Contact, ContactEvent, ContactStatus, EventKind
from app.escalation import engine, handover, paging
from app.escalation.notices import alert_supervisors
from app.escalation.paging import PAGED_KINDS
from app.i18n import _
from app.inbound import conversation, keywords
from app.inbound.message import InboundSms
from app.messaging import texts
from app.messaging.models import MessagePurpose, OutboundMessage
from app.messaging.outbox import enqueue, is_opted_out, set_opt_out
from app.oncall.service import oncall_snapshot
from app.settings import Settings
from app.teams.models import Staff, Team

log = structlog.get_logger(__name__)

HELP_RATE_LIMIT = timedelta(minutes=10)


def _reply(
    session: Session,
    team: Team,
    staff: Staff,
    body: str,
    now: datetime,
    purpose: str = MessagePurpose.COMMAND_REPLY,
    contact_id: int | None = None,
) -> None:
    enqueue(
        session=session,
        team=team,
        to_number=staff.phone,
        body=body,
        purpose=purpose,
        staff_id=staff.id,
        contact_id=contact_id,
        now=now,
    )


def staff_open_contacts(*, session: Session, team_id: int, staff_id: int) -> list[Contact]:
    """Open or acknowledged contacts this person was notified about or holds."""
    notified = select(col(ContactEvent.contact_id)).where(
        col(ContactEvent.staff_id) == staff_id, col(ContactEvent.kind).in_(PAGED_KINDS)
    )
    return list(
        session.execute(
            select(Contact)
            .where(
                col(Contact.team_id) == team_id,
                col(Contact.status).in_(
                    (ContactStatus.OPEN, ContactStatus.ACKNOWLEDGED, ContactStatus.UNANSWERED)
                ),
                or_(col(Contact.acknowledged_by) == staff_id, col(Contact.id).in_(notified)),
            )
            .order_by(col(Contact.created_at).desc())
        ).scalars()
    )


def handle_staff_reply(
    *,
    session: Session,
    team: Team,
    staff: Staff,
    sms: InboundSms,
    now: datetime,
    settings: Settings,
) -> str:
    word = keywords.keyword(sms.body, opt_out=settings.opt_out_set, opt_in=settings.opt_in_set)
    if word == keywords.Keyword.OPT_OUT:
        return _staff_opt_out(
            session=session, team=team, staff=staff, sms=sms, now=now, settings=settings
        )
    # An opt-in word changes something only for a blocked number; otherwise
    # "Yes" is an answer to the client and is relayed like any text.
    if word == keywords.Keyword.OPT_IN and (
        staff.sms_opted_out or is_opted_out(session=session, team_id=team.id, number=staff.phone)
    ):
        staff.sms_opted_out = False
        set_opt_out(session=session, team_id=team.id, number=staff.phone, opted_out=False, at=now)
        session.add(staff)
        return "staff_opt_in"

    reply = keywords.parse_staff_reply(sms.body)
    if reply.bad_ref is not None:
        # Cannot be a contact id: answered at once, without asking the database.
        _reply(
            session,
            team,
            staff,
            _(staff.language, "No contact #{id} on this line. Text HELP for commands.").format(
                id=reply.bad_ref
            ),
            now,
        )
        return "no_target"
    if reply.command == "WHO":
        _reply(session, team, staff, _who(session, team, staff, now), now)
        return "who"
    if reply.command == "HELP":
        _reply(
            session, team, staff, texts.staff_help(staff.language), now, purpose=MessagePurpose.HELP
        )
        return "help"

    contact, problem = _target(session, team, staff, reply.contact_id)
    if contact is None:
        if reply.contact_id is not None:  # a wrong #id is answered every time
            _reply(session, team, staff, problem, now)
        else:
            _help_rate_limited(session, team, staff, problem, now)
        return "no_target"

    return act_on_contact(
        session=session,
        team=team,
        contact_id=contact.id,
        staff=staff,
        reply=reply,
        idempotency_key=sms.message_sid,
        now=now,
        settings=settings,
    )


def act_on_contact(
    *,
    session: Session,
    team: Team,
    contact_id: int,
    staff: Staff,
    reply: keywords.StaffReply,
    idempotency_key: str,
    now: datetime,
    settings: Settings,
) -> str:
    """What a staff member's reply does to one contact: relay the text from
    the line, or ACK / PASS / DONE. The SMS path calls it with the
    MessageSid as the key; the console with the form's one-time key, so a
    reply typed in the console is relayed exactly as one texted to the line
    is, and a form sent twice acts once."""
    # Lock the contact before writing anything that refers to it: the event's
    # foreign key takes a share lock on the contact row, and two replies each
    # holding one while waiting to lock it for update deadlock (PostgreSQL).
    contact = contacts.lock_contact(session=session, contact_id=contact_id)
    assert contact is not None  # the callers found it (the SMS reply, the console form)
    # Idempotency: this key now belongs to this contact's timeline.
    event = ContactEvent(
        contact_id=contact.id,
        at=now,
        kind=EventKind.STAFF_REPLY,
        staff_id=staff.id,
        idempotency_key=idempotency_key,
        data={"command": reply.command} if reply.command else {"relayed": True},
    )
    if not contacts.insert_idempotent(session=session, event=event):
        return "duplicate"

    if reply.command == "ACK":
        _take(session, team, contact, staff, now, via="sms_ack")
        if contact.acknowledged_by in (None, staff.id):
            answer = _(
                staff.language, "#{id} is yours. Reply to text the caller, DONE when resolved."
            ).format(id=contact.id)
        else:  # a colleague took it first: two people must not both think they hold it
            answer = _(
                staff.language,
                "#{id} was already taken by a colleague. Text WHO to see who is on call.",
            ).format(id=contact.id)
        _reply(session, team, staff, answer, now, contact_id=contact.id)
        return "ack"
    if reply.command == "PASS":
        return _pass(session, team, contact, staff, now, settings)
    if reply.command == "KEEP":
        return _keep(session, team, contact, staff, now)
    if reply.command == "DONE":
        contacts.resolve(
            session=session, contact=contact, at=now, staff_id=staff.id, via="sms_done"
        )
        _reply(
            session,
            team,
            staff,
            _(staff.language, "#{id} resolved. Please record the outcome in crisisroute.").format(
                id=contact.id
            ),
            now,
            contact_id=contact.id,
        )
        return "done"
    return _relay(session, team, contact, staff, reply.text, now)


def _target(
    session: Session, team: Team, staff: Staff, contact_id: int | None
) -> tuple[Contact | None, str]:
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        # Another team's contact is answered exactly like a missing one.
        if contact is None or contact.team_id != team.id:
            return None, _(
                staff.language, "No contact #{id} on this line. Text HELP for commands."
            ).format(id=contact_id)
        return contact, ""
    candidates = staff_open_contacts(session=session, team_id=team.id, staff_id=staff.id)
    if len(candidates) == 1:
        return candidates[0], ""
    if not candidates:
        return None, _(
            staff.language, "You have no open crisis contacts."
        ) + " " + texts.staff_help(staff.language)
    refs = " ".join(f"#{c.id}" for c in candidates[:6])
    return (
        None,
        _(
            staff.language,
            "Several open: {refs}. Start your reply with the #id, e.g. #{id} On my way.",
        ).format(refs=refs, id=candidates[0].id),
    )


def _help_rate_limited(
    session: Session, team: Team, staff: Staff, body: str, now: datetime
) -> None:
    recent = session.execute(
        select(col(OutboundMessage.id)).where(
            col(OutboundMessage.to_number) == staff.phone,
            col(OutboundMessage.purpose) == MessagePurpose.HELP,
            col(OutboundMessage.created_at) > now - HELP_RATE_LIMIT,
        )
    ).first()
    if recent is None:
        _reply(session, team, staff, body, now, purpose=MessagePurpose.HELP)


def _take(
    session: Session, team: Team, contact: Contact, staff: Staff, now: datetime, via: str
) -> None:
    if staff.sms_opted_out:
        # The carrier blocks texts to them: they could not read the client's
        # next words, so they do not become the holder (their words are still
        # relayed, and the contact goes on to people who can be reached).
        return
    if contact.status in (ContactStatus.OPEN, ContactStatus.UNANSWERED):
        if contact.status == ContactStatus.UNANSWERED:
            contact.status = ContactStatus.OPEN  # a late answer still counts, on the record
        contacts.acknowledge(session=session, contact=contact, staff_id=staff.id, at=now, via=via)
        if contact.acknowledged_by == staff.id:
            conversation.catch_up(session=session, team=team, contact=contact, staff=staff, now=now)


def _relay(
    session: Session, team: Team, contact: Contact, staff: Staff, text: str, now: datetime
) -> str:
    if not text:
        _help_rate_limited(session, team, staff, texts.staff_help(staff.language), now)
        return "empty"
    if contact.channel == Channel.SMS and not is_opted_out(
        session=session, team_id=team.id, number=contact.from_number
    ):
        # Twilio refuses a body over 1,600 characters: a long reply goes in numbered parts.
        message_ids = []
        for part in texts.relay_to_client(body=text):
            message = enqueue(
                session=session,
                team=team,
                to_number=contact.from_number,
                body=part,
                purpose=MessagePurpose.RELAY,
                contact_id=contact.id,
                staff_id=staff.id,
                now=now,
            )
            if message is not None:
                message_ids.append(message.id)
        contacts.record_event(
            session=session,
            contact=contact,
            kind=EventKind.RELAYED,
            at=now,
            staff_id=staff.id,
            data={
                "message_id": message_ids[0] if message_ids else None,
                "message_ids": message_ids,
                "body": text,
            },
        )
        contacts.mark_responded(contact=contact, at=now)
    else:
        _reply(
            session,
            team,
            staff,
            _(
                staff.language,
                "#{id} cannot be texted (opted out or a call). Please call {number}.",
            ).format(id=contact.id, number=contact.from_number),
            now,
            contact_id=contact.id,
        )
    _take(session, team, contact, staff, now, via="sms_reply")
    if contact.acknowledged_by == staff.id:
        handover.holder_answered(contact=contact)
    session.add(contact)
    return "relayed"


def _keep(session: Session, team: Team, contact: Contact, staff: Staff, now: datetime) -> str:
    """The holder stays with the contact: after their shift ended, or after
    a page that the client is waiting."""
    if contact.status != ContactStatus.ACKNOWLEDGED or contact.acknowledged_by != staff.id:
        _reply(
            session,
            team,
            staff,
            _(
                staff.language,
                "#{id} is not yours to keep ({status}). Text WHO to see who is on call.",
            ).format(id=contact.id, status=contact.status),
            now,
            contact_id=contact.id,
        )
        return "keep_refused"
    handover.keep(session=session, contact=contact, staff_id=staff.id, now=now, via="sms")
    _reply(
        session,
        team,
        staff,
        texts.kept(contact_id=contact.id, lang=staff.language),
        now,
        contact_id=contact.id,
    )
    return "keep"


def _pass(
    session: Session, team: Team, contact: Contact, staff: Staff, now: datetime, settings: Settings
) -> str:
    """Decline: the next level is notified now. A PASS from someone the
    contact has already moved past (a late reply from level 1 while level 2
    is being tried) is noted but moves nothing: it must not cut short the
    time the current level has to answer."""
    holder = contact.status == ContactStatus.ACKNOWLEDGED and contact.acknowledged_by == staff.id
    if holder and (not contact.plan or contact.level >= len(contact.plan)):
        # Past the plan's last level nobody is left to take it: the contact
        # stays with the person who holds it rather than with nobody.
        _reply(
            session,
            team,
            staff,
            _(
                staff.language,
                "#{id} stays with you: nobody is left in its plan to pass it to. "
                "Call a supervisor to hand it over.",
            ).format(id=contact.id),
            now,
            contact_id=contact.id,
        )
        return "pass_refused"
    if holder:
        contact.status = ContactStatus.OPEN
        contact.acknowledged_by = None
        contact.acknowledged_at = None
    contacts.record_event(
        session=session,
        contact=contact,
        kind=EventKind.PASSED,
        at=now,
        staff_id=staff.id,
        level=contact.level,
    )
    if (
        contact.status == ContactStatus.OPEN
        and not holder
        and not _at_current_level(contact, staff)
    ):
        _reply(
            session,
            team,
            staff,
            _(
                staff.language, "#{id} has already moved on to the next people; nothing to pass."
            ).format(id=contact.id),
            now,
            contact_id=contact.id,
        )
        return "pass_noted"
    moved = engine.advance(
        session=session, contact=contact, team=team, now=now, reason="pass", settings=settings
    )
    _reply(
        session,
        team,
        staff,
        _(staff.language, "#{id} passed to the next level.").format(id=contact.id)
        if moved
        else _(staff.language, "#{id} cannot be passed now ({status}).").format(
            id=contact.id, status=contact.status
        ),
        now,
        contact_id=contact.id,
    )
    return "pass"


def _at_current_level(contact: Contact, staff: Staff) -> bool:
    if not contact.plan or not 1 <= contact.level <= len(contact.plan):
        return False
    return staff.id in (contact.plan[contact.level - 1].get("staff_ids") or [])


def _staff_opt_out(
    *,
    session: Session,
    team: Team,
    staff: Staff,
    sms: InboundSms,
    now: datetime,
    settings: Settings,
) -> str:
    """A staff member who texts STOP can no longer be notified: alert the
    supervisors at once, since it silently opens a hole in the rota."""
    staff.sms_opted_out = True
    set_opt_out(session=session, team_id=team.id, number=staff.phone, opted_out=True, at=now)
    session.add(staff)
    alert_supervisors(
        session=session,
        team=team,
        body=lambda lang: texts.staff_opt_out_alert(staff_name=staff.name, lang=lang),
        now=now,
        except_staff_id=staff.id,
    )
    # Nothing can reach them now: what they hold, or wait on alone, moves at once.
    handover.hand_on_contacts_of(
        session=session, staff=staff, now=now, reason=handover.OPTED_OUT, settings=settings
    )
    log.warning("staff_opted_out", staff_id=staff.id, team_id=team.id)
    return "staff_opt_out"


WHO_CONTACTS = 3  # the newest open contacts a WHO reply tells about


def _who(session: Session, team: Team, staff: Staff, now: datetime) -> str:
    """Who is on call, then, for the asker's open contacts, who was paged
    how and what came of it (`#12 Casey: sms delivered, call pressed 1`)."""
    lines = [_who_is_on_call(session, team, staff, now)]
    for contact in staff_open_contacts(session=session, team_id=team.id, staff_id=staff.id)[
        :WHO_CONTACTS
    ]:
        pages = paging.report(session=session, contact=contact)
        if pages:
            lines.append(f"#{contact.id} {paging.summary_line(pages, staff.language)}")
    return "\n".join(lines)


def _who_is_on_call(session: Session, team: Team, staff: Staff, now: datetime) -> str:
    """Who each rota has on call, with the languages they speak (`ES`) so a
    worker with a Spanish-speaking client knows whom to ask."""
    lang = staff.language
    # A one-language team has nothing to tell apart.
    show_spoken = len(team.languages or ()) > 1
    parts = []
    for rota in oncall_snapshot(session=session, team_id=team.id, at=now):
        person = session.get(Staff, rota.staff_id) if rota.staff_id else None
        if person is None:
            nobody = _(lang, "NOBODY")
            parts.append(f"{rota.rota_name}: {nobody}")
            continue
        spoken = "/".join(code.upper() for code in person.languages_spoken or ())
        shown = f" ({spoken})" if spoken and show_spoken else ""
        parts.append(f"{rota.rota_name}: {person.name}{shown}")
    if not parts:
        return _(lang, "No rotas configured.")
    return _(lang, "On call: {rotas}").format(rotas="; ".join(parts))
