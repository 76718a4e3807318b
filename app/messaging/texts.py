"""The words the service sends. Pure functions: inputs in, text out.

Staff notifications must fit one SMS segment (160 GSM-7 characters, or 70
when any character needs UCS-2) and carry the minimum necessary: contact
reference, who (preferred name or "unknown caller"), the level, the plan link.
Never the plan itself, never a diagnosis.
"""

from __future__ import annotations

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


def who_label(*, preferred_name: str | None, relation: str | None, ambiguous: bool) -> str:
    if ambiguous:
        return "shared number (several clients)"
    if not preferred_name:
        return "unknown caller"
    name = _ascii_name(preferred_name) or "client"
    if relation and relation != "self":
        return f"{relation} of {name}"
    return name


def staff_notification(
    *,
    contact_id: int,
    level: int,
    label: str,
    who: str,
    from_number: str,
    plan_url: str | None,
    channel: str = "sms",
    high_priority: bool = False,
) -> str:
    """One segment: `CRISIS #12 L1 Sam +12015550123 texted. Reply to answer, ACK, PASS. Plan: URL`."""
    head = "URGENT" if high_priority else "CRISIS"
    verb = "missed call" if channel == "voice" else "texted"
    tail = f" Plan: {plan_url}" if plan_url else ""
    actions = " Reply to answer, ACK, PASS."
    for who_text in (who, who[:12], ""):
        core = f"{head} #{contact_id} L{level} {who_text} {from_number} {verb}.".replace("  ", " ")
        body = core + actions + tail
        if fits_one_segment(body):
            return body
        body = core + tail
        if fits_one_segment(body):
            return body
    return f"{head} #{contact_id} L{level} {from_number}.{tail}"[:SEGMENT_GSM7]


def fallback_text(template: str, fallback_number: str) -> str:
    return template.replace("{fallback_number}", fallback_number)


def unanswered_alert(*, contact_id: int, from_number: str) -> str:
    return (
        f"UNANSWERED #{contact_id} from {from_number}: nobody acknowledged. "
        "The sender was given the crisis team number. Reply #%d to take it." % contact_id
    )


_REASON_WORDS = {"opted_out": "opted out", "on_leave": "on leave", "deactivated": "deactivated"}


def level_skipped_alert(*, contact_id: int, label: str, unreachable: list[tuple[str, str]]) -> str:
    """`#12: nobody reachable at primary on-call (Owen Call opted out); next level told.`"""
    who = ", ".join(
        f"{_ascii_name(name)[:30]} {_REASON_WORDS.get(reason, reason)}"
        for name, reason in unreachable
    )
    return f"#{contact_id}: nobody reachable at {label} ({who}); moved to the next level."[:320]


def unanswered_again_alert(*, contact_id: int, from_number: str, minutes: int) -> str:
    return (
        f"STILL UNANSWERED #{contact_id} from {from_number}, {minutes} min: nobody has taken it. "
        f"Reply #{contact_id} ACK to take it."
    )


def _quote(words: str, room: int) -> str:
    words = " ".join(words.split())
    return words if len(words) <= room else words[: room - 3].rstrip() + "..."


def waiting_for_you(*, contact_id: int, words: str) -> str:
    """`#12 is waiting for you: "…"` — the holder has not answered the client."""
    head = f"#{contact_id} is waiting for you: "
    return f'{head}"{_quote(words, 150 - len(head))}" Reply to answer, KEEP to hold, PASS.'


def contact_moved(*, contact_id: int, why: str) -> str:
    return f"#{contact_id} has moved to a colleague ({why}). You no longer hold it."


def shift_ended_question(*, contact_id: int, next_name: str | None, minutes: int) -> str:
    to = _ascii_name(next_name)[:30] if next_name else "the next level"
    return (
        f"#{contact_id}: your shift ended. Reply KEEP to stay with it, "
        f"or it passes to {to} in {minutes} min"
    )


def kept(*, contact_id: int) -> str:
    return f"#{contact_id} stays with you. Reply to text the caller, DONE when resolved."


def staff_opt_out_alert(*, staff_name: str) -> str:
    return (
        f"ALERT: {_ascii_name(staff_name)[:40]} texted STOP and gets no crisis SMS now. "
        "Check the on-call rota for a hole."
    )


def relay_to_staff(*, contact_id: int, body: str) -> str:
    return f"#{contact_id}: {body}"


STAFF_HELP = (
    "Reply with text to answer the caller (your number stays hidden). ACK take it, PASS escalate now, "
    "KEEP stay with it, DONE resolve, WHO on call. Several open? start with #id e.g. #12 On my way."
)
CLIENT_HELP_SUFFIX = " Reply STOP to stop texts."
