"""The pure on-call schedule engine: no I/O, no database, no web framework.

A schedule has an IANA time zone, ordered layers (later layers are higher and
win where they have someone) and overrides (which win over every layer).
Daily and weekly handoffs happen at local wall-clock time across DST; hourly
turns are absolute durations.
"""

from rotas.errors import (
    EmptyLayerError, InvalidRestrictionError, InvalidTurnError, NaiveDatetimeError, RotaError,
    UnknownTimeZoneError,
)
from rotas.model import Layer, OnCall, Override, Restriction, Schedule, Shift, Turn
from rotas.schedule import final_schedule, gaps, on_call, shifts_for

__all__ = [
    "EmptyLayerError", "InvalidRestrictionError", "InvalidTurnError", "Layer", "NaiveDatetimeError", "OnCall",
    "Override", "Restriction", "RotaError", "Schedule", "Shift", "Turn", "UnknownTimeZoneError",
    "final_schedule", "gaps", "on_call", "shifts_for",
]
