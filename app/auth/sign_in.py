"""Signing in to the console with a code texted to one's own phone.

A code is 6 digits, lives 10 minutes and allows 5 tries; the fifth wrong
try locks the number for 15 minutes. Requests are limited per number and
per client address. Every request writes a row and gets the same answer
whether or not the number belongs to anyone, so the form cannot be used to
find out who works here. The code goes out from the team's crisis line
through the outbox, like every other message.

Functions here never commit; the request boundary does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.auth.models import SignInCode
from app.i18n import _
from app.messaging.outbox import enqueue
from app.teams.models import Staff, Team

CODE_LIFETIME = timedelta(minutes=10)
MAX_TRIES = 5
LOCKOUT = timedelta(minutes=15)
# Codes asked for one number, and from one address, within RATE_WINDOW.
RATE_WINDOW = timedelta(minutes=15)
PER_NUMBER = 3
PER_ADDRESS = 10


def keyed_hash(secret: str, value: str) -> str:
    """Numbers, addresses and codes are stored as HMACs: a six-digit code's
    plain SHA-256 is reversed in a second, an HMAC needs the secret too."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CodeRequested:
    """`attempt_token` goes into the browser's pending sign-in cookie."""

    attempt_token: str


class TooManyRequests(Exception):
    def __init__(self, message: str, retry_after: timedelta):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def _staff_for(session: Session, phone: str) -> Staff | None:
    # A person on two teams signs in to the first of them (by id).
    return (
        session.execute(
            select(Staff)
            .where(col(Staff.phone) == phone, col(Staff.active).is_(True))
            .order_by(col(Staff.id))
        )
        .scalars()
        .first()
    )


def request_code(
    *, session: Session, phone: str, address: str, now: datetime, secret: str
) -> CodeRequested:
    """Record the request and, for an active staff member, queue the code to
    their phone from their team's crisis line. `phone` is E.164."""
    phone_hash = keyed_hash(secret, "phone:" + phone)
    address_hash = keyed_hash(secret, "address:" + address)
    since = now - RATE_WINDOW
    locked = session.execute(
        select(func.max(SignInCode.locked_until)).where(
            col(SignInCode.phone_hash) == phone_hash, col(SignInCode.locked_until) > now
        )
    ).scalar()
    if locked is not None:
        raise TooManyRequests(
            "Too many wrong codes for this number. Try again later.", locked - now
        )
    for column, value, limit in (
        (col(SignInCode.phone_hash), phone_hash, PER_NUMBER),
        (col(SignInCode.address_hash), address_hash, PER_ADDRESS),
    ):
        recent = session.execute(
            select(func.count(), func.min(SignInCode.created_at)).where(
                column == value, col(SignInCode.created_at) > since
            )
        ).one()
        if recent[0] >= limit:
            raise TooManyRequests(
                "Too many sign-in codes asked for. Try again later.",
                recent[1] + RATE_WINDOW - now,
            )

    attempt_token = secrets.token_urlsafe(32)
    row = SignInCode(
        attempt_hash=keyed_hash(secret, "attempt:" + attempt_token),
        phone_hash=phone_hash,
        address_hash=address_hash,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    staff = _staff_for(session, phone)
    session.add(row)
    session.flush()
    if staff is not None:
        code = f"{secrets.randbelow(10**6):06d}"
        row.staff_id = staff.id
        row.code_hash = keyed_hash(secret, f"code:{row.id}:{code}")
        team = session.get(Team, staff.team_id)
        enqueue(
            session=session,
            team=team,
            to_number=staff.phone,
            body=_(
                staff.language,
                "{code} is your crisisroute sign-in code. It expires in 10 minutes. "
                "Never share it.",
            ).format(code=code),
            purpose="sign_in_code",
            staff_id=staff.id,
            now=now,
        )
    session.add(row)
    return CodeRequested(attempt_token=attempt_token)


class CodeRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def check_code(
    *, session: Session, attempt_token: str | None, code: str, now: datetime, secret: str
) -> int:
    """The staff id the code signs in, or CodeRefused saying why. A wrong
    code uses up a try; the fifth locks the number for LOCKOUT."""
    if not attempt_token:
        raise CodeRefused("Ask for a code first.")
    row = (
        session.execute(
            select(SignInCode)
            .where(col(SignInCode.attempt_hash) == keyed_hash(secret, "attempt:" + attempt_token))
            .with_for_update()
        )
        .scalars()
        .first()
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise CodeRefused("This code has expired. Ask for a new one.")
    if row.locked_until is not None and row.locked_until > now:
        raise CodeRefused("Too many wrong codes. Try again in 15 minutes.")
    if row.attempts >= MAX_TRIES:
        raise CodeRefused("Too many wrong codes. Ask for a new one.")
    row.attempts += 1
    expected = row.code_hash or ""
    given = keyed_hash(secret, f"code:{row.id}:{code.strip()}")
    if row.staff_id is not None and hmac.compare_digest(expected, given):
        row.used_at = now
        session.add(row)
        return row.staff_id
    if row.attempts >= MAX_TRIES:
        row.locked_until = now + LOCKOUT
        session.add(row)
        raise CodeRefused("Too many wrong codes. Try again in 15 minutes.")
    session.add(row)
    left = MAX_TRIES - row.attempts
    raise CodeRefused(f"That code is not right. {left} {'try' if left == 1 else 'tries'} left.")
