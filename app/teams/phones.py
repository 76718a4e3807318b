"""Phone numbers: parsed with `phonenumbers` in the team's region, stored E.164."""

from __future__ import annotations

import re

import phonenumbers

from app.errors import Invalid


def parse_phone(value: str, region: str, field: str | list) -> str:
    """E.164 for a valid number, else a 422 naming the field and why
    (`+1 555 …` has no area code and is refused; `+1 201-555-01xx` is valid)."""
    try:
        number = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException as exc:
        raise Invalid(
            field, f"is not a phone number ({exc.args[0] if exc.args else 'unparsable'})"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise Invalid(
            field, f"is not a valid phone number for region {region} (check the area code)"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_inbound(value: str, region: str) -> str | None:
    try:
        return parse_phone(value, region, "number")
    except Invalid:
        return None


_E164 = re.compile(r"\+[1-9]\d{6,14}")


def e164_or_raw(raw: str, region: str = "US") -> str:
    """Twilio sends E.164 already; normalise anyway, and keep what cannot be
    parsed (a short code, a channel address) rather than drop the message."""
    if _E164.fullmatch(raw):
        return raw  # already E.164 (nearly always): phonenumbers costs ~0.1 ms a call
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return raw.strip()
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
