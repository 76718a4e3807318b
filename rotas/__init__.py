"""The pure on-call rota engine: standard library and zoneinfo only; no I/O,
no database, no web framework.

A schedule has an IANA time zone, ordered layers (later layers are higher and
win where they have someone) and overrides (which win over every layer).
Every handoff (hourly, daily, weekly) happens at local wall-clock time across
DST: the anchor's local time plus whole turns of local clock time. Every
returned datetime is aware, in UTC.
"""

from rotas.errors import (
    EmptyLayerError,
    InvalidLayerError,
    InvalidOverrideError,
    InvalidRestrictionError,
    InvalidTurnError,
    InvalidWindowError,
    NaiveDatetimeError,
    RotaError,
    UnknownTimeZoneError,
)
from rotas.model import Layer, OnCall, Override, Restriction, Schedule, Shift, Turn
from rotas.schedule import final_schedule, gaps, on_call, shifts_for

__all__ = [
    "EmptyLayerError",
    "InvalidLayerError",
    "InvalidOverrideError",
    "InvalidRestrictionError",
    "InvalidTurnError",
    "InvalidWindowError",
    "Layer",
    "NaiveDatetimeError",
    "OnCall",
    "Override",
    "Restriction",
    "RotaError",
    "Schedule",
    "Shift",
    "Turn",
    "UnknownTimeZoneError",
    "final_schedule",
    "gaps",
    "on_call",
    "shifts_for",
]
