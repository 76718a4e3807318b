"""The words the service sends. Pure functions: inputs in, text out.

Kept whole: it is the one catalogue of every text, a function
each; who reviews or translates the service's words reads them here, in one
place, next to the segment arithmetic they must fit.

Staff notifications must fit one SMS segment (160 GSM-7 characters, or 70
when any character needs UCS-2) and carry the minimum necessary: contact
reference, who (preferred name or "unknown caller"), the level, the plan link.
Never the plan itself, never a diagnosis.

Every text comes from the gettext catalogs (app.i18n): each function takes
the language of the person who reads it (`lang`, a catalog's code), the
contact's for a client, the staff member's own for staff.
"""

from __future__ import annotations

import re

from app.contacts.models import Channel
from app.i18n import N_, SOURCE_LANGUAGE, _
from app.messaging.models import MessagePurpose
from app.teams.models import TEAM_TEXTS, Team

# GSM 03.38 basic character set and its extension table (each extension
# character costs two septets).
_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")

SEGMENT_GSM7 = 160
SEGMENT_UCS2 = 70


def is_gsm7(text: str) -> bool:
    return all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text)


def sms_length(text: str) -> tuple[int, int]:
    """(units used, units in one segment) for this text's encoding."""
    if is_gsm7(text):
        return sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text), SEGMENT_GSM7
    return len(text.encode("utf-16-le")) // 2, SEGMENT_UCS2


def fits_one_segment(text: str) -> bool:
    used, limit = sms_length(text)
    return used <= limit


def _ascii_name(name: str) -> str:
    # A curly quote or an emoji in a name would switch the whole SMS to UCS-2
    # (70 characters): keep only GSM-7 characters.
    return "".join(ch for ch in name if ch in _GSM7_BASIC and ch not in "\r\n").strip()


RELATIONS = {"family": N_("family"), "guardian": N_("guardian"), "other": N_("other")}


def who_label(
    *, preferred_name: str | None, relation: str | None, ambiguous: bool, lang: str
) -> str:
    if ambiguous:
        return _(lang, "shared number (several clients)")
    if not preferred_name:
        return _(lang, "unknown caller")
    name = _ascii_name(preferred_name) or _(lang, "client")
    if relation and relation != "self":
        return _(lang, "{relation} of {name}").format(
            relation=_(lang, RELATIONS.get(relation, relation)), name=name
        )
    return name


def language_tag(language: str | None) -> str:
    """How staff see a client's language (`ES`): nothing for English, the
    source language every notification is read against."""
    return "" if not language or language == "en" else language.upper()


def staff_notification(
    *,
    contact_id: int,
    level: int,
    label: str,
    who: str,
    from_number: str,
    plan_url: str | None,
    lang: str,
    channel: str = Channel.SMS,
    high_priority: bool = False,
    client_language: str | None = None,
    has_plan: bool = True,
) -> str:
    """One segment: `CRISIS #12 L1 ES Sam +12015550123 texted. Reply to answer, ACK, PASS. Plan: URL`."""
    head = _(lang, "URGENT") if high_priority else _(lang, "CRISIS")
    verb = _(lang, "missed call") if channel == Channel.VOICE else _(lang, "texted")
    tail = ""
    if plan_url:
        # A known client's link opens the conversation and their plan; an
        # unknown caller's, the conversation alone.
        label = _(lang, " Plan: {url}") if has_plan else _(lang, " Texts: {url}")
        tail = label.format(url=plan_url)
    actions = _(lang, " Reply to answer, ACK, PASS.")
    tag = language_tag(client_language)
    for who_text in (who, who[:12], ""):
        core = _(lang, "{head} #{contact_id} L{level} {language} {who} {from_number} {verb}.")
        core = " ".join(
            core.format(
                head=head,
                contact_id=contact_id,
                level=level,
                language=tag,
                who=who_text,
                from_number=from_number,
                verb=verb,
            ).split()
        )
        body = core + actions + tail
        if fits_one_segment(body):
            return body
        body = core + tail
        if fits_one_segment(body):
            return body
    short = _(lang, "{head} #{contact_id} L{level} {language} {from_number}.").format(
        head=head, contact_id=contact_id, level=level, language=tag, from_number=from_number
    )
    return (" ".join(short.split()) + tail)[:SEGMENT_GSM7]


# Two concatenated segments: each carries 153 GSM-7 septets or 67 UCS-2 units.
TWO_SEGMENTS_GSM7 = 306
TWO_SEGMENTS_UCS2 = 134


def with_words(notification: str, words: str, lang: str = SOURCE_LANGUAGE) -> str:
    """The notification followed by the client's words, cut to what fits two
    segments together (the words' encoding decides the segment size)."""
    return cut_words(notification, words, lang)[0]


def cut_words(notification: str, words: str, lang: str = SOURCE_LANGUAGE) -> tuple[str, int]:
    """`with_words`, and how many characters of the words (spaces collapsed)
    it carries as they were written: 0 when none, or when characters had to
    be shown as "?"."""
    words = " ".join(words.split())
    if not words:
        return notification, 0
    if not is_gsm7(words):
        cut = _cut(notification, words, TWO_SEGMENTS_UCS2, lang)
        if cut is not None:
            return cut
        # Too little room in UCS-2: the words' non-GSM characters shown as "?".
        shown = "".join(ch if is_gsm7(ch) else "?" for ch in words)
        cut = _cut(notification, shown, TWO_SEGMENTS_GSM7, lang)
        return (cut[0], 0) if cut is not None else (notification, 0)
    return _cut(notification, words, TWO_SEGMENTS_GSM7, lang) or (notification, 0)


def _cut(notification: str, words: str, limit: int, lang: str) -> tuple[str, int] | None:
    said = _(lang, 'Said: "{words}"')
    whole = f"{notification} {said.format(words=words)}"
    if sms_length(whole)[0] <= limit:
        return whole, len(words)
    # Each character costs at least one unit and the words hold single
    # spaces, so a cut past `limit + 1` cannot fit: starting from the end of
    # a 2,000-character text made every notification of it cost a second.
    for end in range(min(len(words), limit + 1), 0, -1):
        kept = words[:end].rstrip()
        body = f"{notification} {said.format(words=kept + '...')}"
        if sms_length(body)[0] <= limit:
            return (body, len(kept)) if end >= 20 else None
    return None


def fallback_text(template: str, fallback_number: str) -> str:
    return template.replace("{fallback_number}", fallback_number)


def unanswered_alert(*, contact_id: int, from_number: str, lang: str) -> str:
    return _(
        lang,
        "UNANSWERED #{contact_id} from {from_number}: nobody acknowledged. "
        "The sender was given the crisis team number. Reply #{contact_id} to take it.",
    ).format(contact_id=contact_id, from_number=from_number)


REASON_WORDS = {
    "opted_out": N_("opted out"),
    "on_leave": N_("on leave"),
    "deactivated": N_("deactivated"),
}


# A routing level's label (app.routing.plan) as staff read it. The plan keeps
# the English label as data (events, the API); it is translated only here.
LEVEL_LABELS = {
    "assigned case manager": N_("assigned case manager"),
    "backup case manager": N_("backup case manager"),
    "primary on-call": N_("primary on-call"),
    "backup on-call": N_("backup on-call"),
    "supervisors": N_("supervisors"),
    "staff member": N_("staff member"),
    "policy level": N_("policy level"),
    "external fallback": N_("external fallback"),
}
_NUMBERED_LABELS = (
    (re.compile(r"on-call \(priority (\d+)\)"), N_("on-call (priority {number})")),
    (re.compile(r"rota (\d+)"), N_("rota {number}")),
)


def level_label(label: str, lang: str) -> str:
    """`primary on-call` in `lang`; a policy level's `A + B` part by part; a
    label the catalogs do not know is shown as it is."""
    parts = []
    for part in label.split(" + "):
        known = LEVEL_LABELS.get(part)
        if known is not None:
            parts.append(_(lang, known))
            continue
        for pattern, template in _NUMBERED_LABELS:
            found = pattern.fullmatch(part)
            if found:
                parts.append(_(lang, template).format(number=found.group(1)))
                break
        else:
            parts.append(part)
    return " + ".join(parts)


def level_skipped_alert(
    *, contact_id: int, label: str, unreachable: list[tuple[str, str]], lang: str
) -> str:
    """`#12: nobody reachable at primary on-call (Owen Call opted out); next level told.`"""
    who = ", ".join(
        f"{_ascii_name(name)[:30]} {_(lang, REASON_WORDS.get(reason, reason))}"
        for name, reason in unreachable
    )
    return _(
        lang, "#{contact_id}: nobody reachable at {label} ({who}); moved to the next level."
    ).format(contact_id=contact_id, label=level_label(label, lang), who=who)[:320]


def unanswered_again_alert(*, contact_id: int, from_number: str, minutes: int, lang: str) -> str:
    return _(
        lang,
        "STILL UNANSWERED #{contact_id} from {from_number}, {minutes} min: nobody has taken it. "
        "Reply #{contact_id} ACK to take it.",
    ).format(contact_id=contact_id, from_number=from_number, minutes=minutes)


def _quote(words: str, room: int) -> str:
    words = " ".join(words.split())
    return words if len(words) <= room else words[: room - 3].rstrip() + "..."


def waiting_for_you(*, contact_id: int, words: str, lang: str) -> str:
    """`#12 is waiting for you: "…"` — the holder has not answered the client."""
    template = _(
        lang, '#{contact_id} is waiting for you: "{words}" Reply to answer, KEEP to hold, PASS.'
    )
    room = 150 - len(template.split("{words}")[0].format(contact_id=contact_id))
    return template.format(contact_id=contact_id, words=_quote(words, room))


# Why a held contact moved to someone else (app.escalation.handover's reasons).
HANDOVER_REASONS = {
    "reply_timeout": N_("no reply to the client"),
    "shift_ended": N_("shift ended"),
    "on_leave": N_("on leave"),
    "opted_out": N_("opted out"),
    "deactivated": N_("deactivated"),
}


def contact_moved(*, contact_id: int, reason: str, lang: str) -> str:
    why = HANDOVER_REASONS.get(reason)
    return _(lang, "#{contact_id} has moved to a colleague ({why}). You no longer hold it.").format(
        contact_id=contact_id, why=_(lang, why) if why else reason.replace("_", " ")
    )


def shift_ended_question(*, contact_id: int, next_name: str | None, minutes: int, lang: str) -> str:
    to = _ascii_name(next_name)[:30] if next_name else _(lang, "the next level")
    return _(
        lang,
        "#{contact_id}: your shift ended. Reply KEEP to stay with it, "
        "or it passes to {to} in {minutes} min",
    ).format(contact_id=contact_id, to=to, minutes=minutes)


def kept(*, contact_id: int, lang: str) -> str:
    return _(
        lang, "#{contact_id} stays with you. Reply to text the caller, DONE when resolved."
    ).format(contact_id=contact_id)


def staff_opt_out_alert(*, staff_name: str, lang: str) -> str:
    return _(
        lang,
        "ALERT: {name} texted STOP and gets no crisis SMS now. Check the on-call rota for a hole.",
    ).format(name=_ascii_name(staff_name)[:40])


def break_glass_alert(lang: str, *, reader: str, record_type: str, record_id: int) -> str:
    """To supervisors: someone read past their usual scope. No reason or
    content in the SMS (the audit log has the reason)."""
    name = _ascii_name(reader)[:40]
    if record_type == "contact":
        text = _(
            lang,
            "BREAK-GLASS: {name} read contact #{id} outside their caseload. "
            "The reason is in the audit log.",
        )
    else:
        text = _(
            lang,
            "BREAK-GLASS: {name} read client {id} outside their caseload. "
            "The reason is in the audit log.",
        )
    return text.format(name=name, id=record_id)


# Twilio refuses a body longer than this (error 21617): longer relays go in parts.
MAX_BODY = 1600


def in_parts(body: str, head, limit: int = MAX_BODY) -> list[str]:
    """`body` as one message `head(0, 1) + body` when it fits in `limit`
    characters, else split on word boundaries into numbered parts, each
    `head(i, n) + part` within `limit`, in order (the outbox sends a
    contact's messages to one number one after another)."""
    whole = head(0, 1) + body
    if len(whole) <= limit:
        return [whole]
    tokens = re.findall(r"\S+\s*", body.strip())
    count = 2
    while True:
        room = limit - len(head(count, count))
        parts: list[str] = []
        current = ""
        for token in tokens:
            while len(token.rstrip()) > room:  # a "word" longer than a part
                if current:
                    parts.append(current)
                    current = ""
                parts.append(token[:room])
                token = token[room:]
            if len(current) + len(token.rstrip()) > room:
                parts.append(current)
                current = ""
            current += token
        if current.strip():
            parts.append(current)
        parts = [p.rstrip() for p in parts if p.strip()]
        if len(parts) <= count:
            return [head(i + 1, len(parts)) + p for i, p in enumerate(parts)]
        count = len(parts)


def relay_to_staff(*, contact_id: int, body: str) -> list[str]:
    """`#12: words`, or `#12 (1/3): words` … when it is too long for one message."""
    return in_parts(
        body, lambda i, n: f"#{contact_id}: " if n == 1 else f"#{contact_id} ({i}/{n}): "
    )


def relay_to_client(*, body: str) -> list[str]:
    return in_parts(body, lambda i, n: "" if n == 1 else f"({i}/{n}) ")


MEDIA_KINDS = {
    "image": N_("a photo"),
    "video": N_("a video"),
    "audio": N_("a voice recording"),
    "application/pdf": N_("a PDF file"),
    "text/vcard": N_("a contact card"),
    "text/x-vcard": N_("a contact card"),
}


def media_kind(content_type: str, lang: str) -> str:
    """What staff are told an attachment is: `a photo`, `a PDF file`, …"""
    kind = content_type.split(";")[0].strip().lower()
    message = MEDIA_KINDS.get(kind) or MEDIA_KINDS.get(kind.split("/")[0]) or N_("a file")
    return _(lang, message)


def media_kinds(media: list[dict], lang: str) -> str:
    """`a photo`, `a photo and a PDF file`, `3 files`."""
    kinds = [media_kind(str(item.get("content_type") or ""), lang) for item in media]
    if len(kinds) > 2:
        return _(lang, "{count} files").format(count=len(kinds))
    return _(lang, " and ").join(kinds)


def media_notice(*, contact_id: int, media: list[dict], url: str | None, lang: str) -> str:
    """`#12 sent a photo: URL` (the conversation page shows it)."""
    kinds = media_kinds(media, lang)
    if url:
        return _(lang, "#{contact_id} sent {kinds}: {url}").format(
            contact_id=contact_id, kinds=kinds, url=url
        )
    return _(lang, "#{contact_id} sent {kinds} (see the console).").format(
        contact_id=contact_id, kinds=kinds
    )


def sent_media_words(media: list[dict], lang: str) -> str:
    """An attachment among the words a notification quotes: `(sent a photo)`."""
    return _(lang, "(sent {kinds})").format(kinds=media_kinds(media, lang))


def opted_out_notice(
    *, contact_id: int, word: str, from_number: str, lang: str = SOURCE_LANGUAGE
) -> str:
    return _(
        lang,
        '#{contact_id} texted "{word}": texts to them are now blocked by the carrier. '
        "Call them: {from_number}",
    ).format(contact_id=contact_id, word=word[:20], from_number=from_number)


def relay_not_delivered(*, contact_id: int, from_number: str, lang: str = SOURCE_LANGUAGE) -> str:
    return _(lang, "Not delivered to #{contact_id}: call them {from_number}").format(
        contact_id=contact_id, from_number=from_number
    )


def held_contacts_handed_on(
    *, staff_name: str, contact_ids: list[int], lang: str = SOURCE_LANGUAGE
) -> str:
    return _(lang, "{name} opted out of SMS: {refs} passed to the next level.").format(
        name=_ascii_name(staff_name)[:40], refs=" ".join(f"#{i}" for i in contact_ids[:8])
    )


def staff_help(lang: str) -> str:
    return _(
        lang,
        "Reply with text to answer the caller (your number stays hidden). ACK take it, PASS "
        "escalate now, KEEP stay with it, DONE resolve, WHO on call. Several open? start with #id "
        "e.g. #12 On my way.",
    )


def client_help_suffix(lang: str) -> str:
    return _(lang, " Reply STOP to stop texts.")


def team_text(team: Team, field: str, lang: str) -> str:
    """A team's own text (`auto_reply_text`, `fallback_text`,
    `voice_greeting`) in `lang`: the team's custom text for that language,
    else the default from the catalog. English custom texts are the team's
    columns of the same name."""
    custom = (team.custom_texts or {}).get(lang, {}).get(field)
    if custom:
        return custom
    if lang == SOURCE_LANGUAGE:
        return getattr(team, field)
    return _(lang, TEAM_TEXTS[field])


def language_confirmed(lang: str) -> str:
    """The reply to a text that changed the conversation's language."""
    return _(
        lang,
        "We will write to you in English. If you are in immediate danger call 911, or call or "
        "text 988.",
    )


# Said to a caller the service cannot connect (app.escalation.voice_chain).
FALLBACK_FAILED = N_(
    "We could not connect your call. Please call or text 988, or call 911 if you are in "
    "immediate danger."
)


def client_texts(lang: str) -> dict[str, str]:
    """Every text the service itself may send a client or family member by
    SMS, or say when it cannot connect them, in `lang`. Each must name 911
    and 988 (tests/i18n checks every language); a new client text belongs here."""
    return {
        "auto_reply": _(lang, TEAM_TEXTS["auto_reply_text"]),
        "auto_reply_with_help": _(lang, TEAM_TEXTS["auto_reply_text"]) + client_help_suffix(lang),
        "fallback": _(lang, TEAM_TEXTS["fallback_text"]),
        "language_confirmed": language_confirmed(lang),
        "call_failed": _(lang, FALLBACK_FAILED),
    }


# ---------------------------------------------------------------- page calls (spoken to staff)


def page_call_who(preferred_name: str | None, lang: str) -> str:
    """Who the page is about, as spoken: the preferred name, never more."""
    name = _ascii_name(preferred_name or "")[:40]
    return name or _(lang, "an unknown number")


def page_call_prompt(*, team_name: str, who: str, lang: str, channel: str = Channel.SMS) -> str:
    prompt = (
        N_("Missed crisis call for {team}, from {who}. Press 1 to take it. Press 2 to pass.")
        if channel == Channel.VOICE
        else N_("Crisis text for {team}, from {who}. Press 1 to take it. Press 2 to pass.")
    )
    return _(lang, prompt).format(team=_ascii_name(team_name)[:60], who=who)


def page_call_holder_prompt(*, contact_id: int, team_name: str, purpose: str, lang: str) -> str:
    """A page call to the person holding a contact: the client waits on them
    (`remind`), or their shift ended (`keep_ask`)."""
    prompt = (
        N_(
            "Crisis line {team}: contact {contact_id} is waiting for your reply. "
            "Press 1 to keep it. The words are in your texts."
        )
        if purpose == MessagePurpose.REMIND
        else N_(
            "Crisis line {team}: your shift has ended and you still hold contact {contact_id}. "
            "Press 1 to keep it, or it passes to a colleague."
        )
    )
    return _(lang, prompt).format(team=_ascii_name(team_name)[:60], contact_id=contact_id)


def page_call_kept(lang: str) -> str:
    return _(lang, "It stays with you. Reply to the caller in your texts.")


def page_call_taken(lang: str) -> str:
    return _(lang, "It is yours. The conversation is in your texts.")


def page_call_passed(lang: str) -> str:
    return _(lang, "Passed. We are trying the next people now.")


def page_call_nothing_pressed(lang: str) -> str:
    return _(lang, "Nothing was pressed. Goodbye.")


def page_call_not_needed(lang: str) -> str:
    return _(lang, "This crisis contact needs nobody else now. Thank you. Goodbye.")


def page_call_taken_by(holder_name: str | None, lang: str) -> str:
    """Told to the second person to press 1: who holds it (first names only)."""
    first = _ascii_name((holder_name or "").split(" ")[0])[:30]
    if not first:
        return _(lang, "A colleague has already taken it. Thank you.")
    return _(lang, "{name} has already taken it. Thank you.").format(name=first)


def page_call_yours_sms(*, contact_id: int, link: str | None, lang: str) -> str:
    tail = f" {link}" if link else ""
    return (
        _(
            lang,
            "#{contact_id} is yours (you pressed 1). Reply to text the caller, DONE when resolved.",
        ).format(contact_id=contact_id)
        + tail
    )


def unreachable_on_call_alert(names: list[str], lang: str) -> str:
    """The daily check: people on call in the next 24 h whom nothing can wake."""
    who = ", ".join(_ascii_name(n)[:30] for n in names[:4])
    if len(names) > 4:
        who += _(lang, " and others")
    return _(
        lang,
        "UNREACHABLE ON CALL: {who} on call in the next 24h opted out of texts and has no call "
        "rule. Add a call to their notify rules or change the rota.",
    ).format(who=who)
