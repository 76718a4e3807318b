from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.oncall.schemas import RowId

Relation = Literal["self", "family", "guardian", "other"]
# One line of a safety plan ("call my sister Ana, 201-555-0100"), not a document.
PLAN_ITEM_MAX = 500
PlanItems = list[Annotated[str, StringConstraints(max_length=PLAN_ITEM_MAX)]]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PhoneIn(Strict):
    number: str = Field(min_length=3, max_length=40)
    relation: Relation
    name: str | None = Field(default=None, max_length=200)
    # BCP 47 (`en`, `es`); none: the client's language.
    language: str | None = Field(default=None, max_length=35)


class ClientCreate(Strict):
    preferred_name: str = Field(min_length=1, max_length=100)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=10)
    assigned_case_manager_id: RowId | None = None
    backup_case_manager_id: RowId | None = None
    # BCP 47 (`en`, `es`); none: the team's default language.
    language: str | None = Field(default=None, max_length=35)


class ClientUpdate(Strict):
    preferred_name: str | None = Field(default=None, min_length=1, max_length=100)
    phones: list[PhoneIn] | None = Field(default=None, max_length=10)
    assigned_case_manager_id: RowId | None = None
    backup_case_manager_id: RowId | None = None
    status: Literal["active", "discharged"] | None = None
    language: str | None = Field(default=None, max_length=35)


class PhoneOut(BaseModel):
    number: str
    relation: str
    name: str | None
    language: str | None
    shared_with_client_ids: list[int] = Field(
        description="other clients of the team with this number (routed as ambiguous)"
    )


class ClientPublic(BaseModel):
    id: int
    team_id: int
    preferred_name: str
    status: str
    assigned_case_manager_id: int | None
    backup_case_manager_id: int | None
    language: str | None
    phones: list[PhoneOut]
    created_at: datetime


class CrisisPlanIn(Strict):
    warning_signs: PlanItems = Field(default_factory=list, max_length=50)
    coping_strategies: PlanItems = Field(default_factory=list, max_length=50)
    social_supports: PlanItems = Field(default_factory=list, max_length=50)
    people_to_call: PlanItems = Field(default_factory=list, max_length=50)
    professionals: PlanItems = Field(default_factory=list, max_length=50)
    safe_environment: PlanItems = Field(default_factory=list, max_length=50)
    reasons_for_living: PlanItems = Field(default_factory=list, max_length=50)
    notes: str | None = Field(default=None, max_length=8000)
    preferred_hospital: str | None = Field(default=None, max_length=200)
    advance_directive_notes: str | None = Field(default=None, max_length=8000)


class CrisisPlanOut(CrisisPlanIn):
    model_config = ConfigDict(extra="ignore")
    client_id: int
    version: int
    created_by: str | None
    created_at: datetime


class PlanLinkOut(BaseModel):
    url: str
    expires_at: datetime


class BreakGlassIn(Strict):
    reason: str = Field(
        min_length=10,
        max_length=500,
        description="why you need this record now (audited; supervisors are alerted)",
    )
