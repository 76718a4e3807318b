from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from app.datetimes import Instant

DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"
MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
# Ids beyond 32 bits cannot exist; refusing them in the path keeps PostgreSQL from
# answering "integer out of range" with a 500.
TeamId = Annotated[int, Path(ge=1, le=MAX_ID)]
RotaId = Annotated[int, Path(ge=1, le=MAX_ID)]
OverrideId = Annotated[int, Path(ge=1, le=MAX_ID)]
StaffId = Annotated[int, Path(ge=1, le=MAX_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TurnIn(Strict):
    """How long each participant's turn is, in local clock time. Every unit
    hands off at local wall-clock time across DST: handoff k is the anchor's
    local time plus k × length, so a 12-hour rota anchored at 08:00 hands off
    at 08:00 and 20:00 all year, and the one turn across a change is an hour
    shorter or longer (30 minutes on Lord Howe Island). A handoff at a local
    time the change skips happens at the first instant after the gap; one in
    the repeated hour, at its first occurrence (so a 1-hour turn lying wholly
    inside a skipped hour lasts no time)."""

    unit: Literal["hours", "days", "weeks"]
    length: int = Field(
        ge=1,
        le=1000,
        description="turns of local clock time: 12 hours runs 08:00 to 20:00 "
        "even on a DST change day",
    )


class RestrictionIn(Strict):
    days: list[DayName] = Field(min_length=1)
    start: str = Field(pattern=HHMM, description="local HH:MM the window opens")
    end: str = Field(
        pattern=HHMM,
        description="local HH:MM it closes (24:00 allowed; earlier than start crosses midnight)",
    )


class LayerIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    turn: TurnIn
    start: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$",
        description="local YYYY-MM-DDTHH:MM anchor: the first handoff; handoff k is this local "
        "time plus k turns",
    )
    participants: list[RowId] = Field(
        min_length=1, max_length=200, description="staff ids, in rotation order"
    )
    restrictions: list[RestrictionIn] = Field(default_factory=list, max_length=20)


class RotaIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    priority: int = Field(default=1, ge=1, le=9, description="1 primary, 2 backup, …")
    timezone: str = Field(min_length=1, max_length=64)
    layers: list[LayerIn] = Field(
        min_length=1, max_length=20, description="later layers are higher and win"
    )
    allow_gaps: bool = Field(
        default=False,
        description="accept a primary rota with holes in the next 14 days "
        "(the query parameter allow_gaps=true does the same)",
    )


class RotaOut(BaseModel):
    id: int
    team_id: int
    name: str
    priority: int
    timezone: str
    layers: list[dict]
    created_at: datetime
    updated_at: datetime


class OverrideIn(Strict):
    staff_id: RowId
    start: Instant
    end: Instant
    reason: str | None = Field(default=None, max_length=200)


class OverrideOut(BaseModel):
    id: int
    rota_id: int
    staff_id: int
    start: datetime
    end: datetime
    reason: str | None


class StaffRef(BaseModel):
    id: int
    name: str
    # So a worker with a Spanish-speaking client knows whom to ask.
    languages_spoken: list[str] = []


class OnCallOut(BaseModel):
    rota_id: int
    rota_name: str
    priority: int
    staff: StaffRef | None
    source: str | None
    until: datetime | None


class ShiftOut(BaseModel):
    start: datetime
    end: datetime
    staff_id: int
    source: str


class GapOut(BaseModel):
    start: datetime
    end: datetime
    rota_id: int | None


class CoverageOut(BaseModel):
    start: datetime
    end: datetime
    gaps: list[GapOut]
    gap_hours: float


class CalendarToken(BaseModel):
    staff_id: int
    url: str
