"""A staff member texting the crisis line: STOP and START, WHO, HELP, and
which contact a reply is about (its #id, or the one contact they are in);
what the reply then does to that contact is
app.inbound.staff_replies.act_on_contact."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import or_, select
from sqlmodel import Session, col

from app.contacts.models import Contact, ContactEvent, ContactStatus
from app.escalation import handover, paging
from app.escalation.notices import alert_supervisors
from app.escalation.paging import PAGED_KINDS
from app.i18n import _
from app.inbound import keywords
from app.inbound.message import InboundSms
from app.inbound.staff_replies import act_on_contact, help_rate_limited, reply_to_staff
from app.messaging import texts
from app.messaging.models import MessagePurpose
from app.messaging.outbox import is_opted_out, set_opt_out
from app.oncall.service import oncall_snapshot
from app.settings import Settings
from app.teams.models import Staff, Team

log = structlog.get_logger(__name__)


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
        return _staff_opt_out(session, team, staff, now, settings)
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
        reply_to_staff(
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
        reply_to_staff(session, team, staff, _who(session, team, staff, now), now)
        return "who"
    if reply.command == "HELP":
        reply_to_staff(
            session, team, staff, texts.staff_help(staff.language), now, purpose=MessagePurpose.HELP
        )
        return "help"

    contact, problem = _target(session, team, staff, reply.contact_id)
    if contact is None:
        if reply.contact_id is not None:  # a wrong #id is answered every time
            reply_to_staff(session, team, staff, problem, now)
        else:
            help_rate_limited(session, team, staff, problem, now)
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


def _staff_opt_out(
    session: Session, team: Team, staff: Staff, now: datetime, settings: Settings
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
