"""Errors from the API's schemas and services as `{field key: message}` for
showing next to each input. A key is the error's location without `body`,
joined by dots: `notify_rules.1.after_seconds`, `phones.0.number`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from app.errors import AppError


def key_of(loc) -> str:
    parts = [str(p) for p in loc or () if p != "body"]
    return ".".join(parts) or "form"


def _message(error: Mapping[str, Any], value_given: bool) -> str:
    if error.get("type") == "missing" or not value_given or error.get("input") in (None, ""):
        return "is required"
    if error.get("type") == "literal_error":
        return "choose one of the options"
    if error.get("type") == "string_pattern_mismatch":
        return "is not in the expected form"
    if error.get("type") == "too_short" and isinstance(error.get("input"), list):
        return "choose at least one"
    return str(error.get("msg", "is not valid"))


def from_validation(exc: ValidationError, data: dict) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc") or ()
        given = not (len(loc) == 1 and data.get(str(loc[0])) in (None, ""))
        errors.setdefault(key_of(loc), _message(error, given))
    return errors


def from_app_error(exc: AppError) -> tuple[dict[str, str], list[str]]:
    """Field errors, and what blocks the act (a 409's `blocking` list)."""
    detail = exc.detail
    if isinstance(detail, list):
        errors: dict[str, str] = {}
        for item in detail:
            errors.setdefault(key_of(item.get("loc")), str(item.get("msg", "is not valid")))
        return errors, []
    if isinstance(detail, dict):
        return {"form": str(detail.get("message", "cannot be done now"))}, [
            str(b) for b in detail.get("blocking", [])
        ]
    return {"form": str(detail)}, []
