"""Structured JSON logs with no PHI in them.

Every record (ours and the libraries', through the stdlib bridge) passes
`scrub_phi`: phone numbers are masked to their last two digits and fields that
could hold a message body or a person's name are dropped. The masking is the
last line of defence; call sites should not log such values in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Anything that looks like a phone number: an optional +, then 7+ digits that
# may be broken by spaces, dots, dashes or parentheses (mask_phone_numbers
# then decides whether it is one or a date).
_PHONE = re.compile(r"(?<![\w:.+-])\+?\(?\d(?:[\s().-]*\d){6,}")
# A North American number however it is spaced: always a phone number.
_NANP = re.compile(r"(?:1[\s.-]*)?\(?\d{3}\)?[\s.-]*\d{3}[\s.-]*\d{4}")
_YEAR = re.compile(r"(?:19|20|21)\d\d")
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")
# PostgreSQL repeats the values of a refused row or key in its error's DETAIL
# line ("Failing row contains (…)", "Key (number)=(…) already exists").
_DB_DETAIL = re.compile(r"^DETAIL:.*$", re.MULTILINE)
# Keys that never hold PHI and must stay readable.
_SAFE_KEYS = frozenset({"timestamp", "level", "logger", "request_id", "route", "method"})

# Keys whose values are never logged, whatever they hold.
REDACTED_KEYS = frozenset(
    {
        "body",
        "Body",
        "message",
        "text",
        "name",
        "preferred_name",
        "staff_name",
        "client_name",
        "notes",
        "note",
        "transcript",
        "plan",
        "FromCity",
        "CallerName",
    }
)


def _reads_as_a_date(candidate: str) -> bool:
    """Digits broken into groups where one is a year and the others are at
    most two digits (2026 11 22, Nov 22 2026 10:00), or all years (2026 2027):
    a date in error text, not a phone number. A leading +, a North American
    shape and an unbroken run of digits are phone numbers whatever they hold."""
    if candidate.startswith("+") or _NANP.fullmatch(candidate.strip()):
        return False
    groups = re.findall(r"\d+", candidate)
    if len(groups) < 2:
        return False
    years = [g for g in groups if len(g) == 4 and _YEAR.fullmatch(g)]
    return bool(years) and all(len(g) <= 2 or g in years for g in groups)


def mask_phone_numbers(text: str) -> str:
    def _mask(match: re.Match[str]) -> str:
        candidate = match.group(0)
        iso = _ISO_DATE.match(candidate)
        if iso:  # an ISO date of any year; what follows it is looked at again
            return iso.group(0) + mask_phone_numbers(candidate[iso.end() :])
        if _reads_as_a_date(candidate):
            return candidate
        digits = re.sub(r"\D", "", match.group(0))
        return "*" * (len(digits) - 2) + digits[-2:]

    return _PHONE.sub(_mask, text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask_phone_numbers(_DB_DETAIL.sub("DETAIL: [redacted]", value))
    if isinstance(value, dict):
        return {k: ("[redacted]" if k in REDACTED_KEYS else _scrub(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


def scrub_phi(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key in _SAFE_KEYS:
            continue
        if key in REDACTED_KEYS:
            event_dict[key] = "[redacted]"
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def configure_logging(level: str = "INFO", stream=None) -> None:
    """JSON lines to stdout for us and for every stdlib logger (uvicorn, alembic…)."""
    shared: list = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            scrub_phi,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "alembic", "apscheduler"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Access lines carry query strings; our own request log replaces them.
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False
    logging.getLogger("apscheduler").setLevel("WARNING")
    logging.getLogger("alembic").setLevel("WARNING")
