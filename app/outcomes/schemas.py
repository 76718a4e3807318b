from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.datetimes import Instant

OUTCOMES = (
    "resolved_by_phone",
    "safety_plan_used",
    "in_person_visit",
    "mobile_crisis_dispatched",
    "er_visit",
    "hospital_admission",
    "police_ems",
    "referred_988",
    "unable_to_reach",
    "non_crisis",
)
Outcome = Literal[OUTCOMES]  # type: ignore[valid-type]
RiskLevel = Literal["low", "moderate", "high", "imminent"]
CallerType = Literal["self", "family", "other"]
ClientEventKind = Literal[
    "er_visit",
    "hospital_admission",
    "hospital_discharge",
    "housing_change",
    "jail_booking",
    "jail_release",
]
# Outcomes that mean the crisis was not resolved in the community.
NOT_DIVERTED = ("er_visit", "hospital_admission")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResolveIn(Strict):
    outcome: Outcome
    risk_level: RiskLevel
    caller_type: CallerType | None = None
    emergency_dispatched: bool | None = None
    emergency_confirmed: bool | None = Field(
        default=None, description="emergency services confirmed arrived"
    )
    referrals: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=20
    )
    notes: str | None = Field(default=None, max_length=4000)
    follow_up_due_at: Instant | None = None
    staff_id: int | None = Field(
        default=None,
        description="who closes the contact; required unless the key is bound to a staff "
        "member (completing the details of a closed contact needs no one)",
    )


class ReviewIn(Strict):
    note: str | None = Field(default=None, max_length=2000)


class ClientEventIn(Strict):
    kind: ClientEventKind
    at: Instant
    notes: str | None = Field(default=None, max_length=2000)


class ClientEventOut(BaseModel):
    id: int
    client_id: int
    kind: str
    at: datetime
    notes: str | None


class Stay(BaseModel):
    admitted_at: datetime
    discharged_at: datetime | None


class ClientEventsOut(BaseModel):
    events: list[ClientEventOut]
    stays: list[Stay]


class ReviewItem(BaseModel):
    id: int
    channel: str
    status: str
    risk_level: str | None
    outcome: str | None
    priority: str
    overnight: bool
    follow_up_due: bool = False
    follow_up_due_at: datetime | None = None
    reviewed_at: datetime | None = None
    created_at: datetime
    level: int
