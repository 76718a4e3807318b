from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import utcnow


class Rota(SQLModel, table=True):
    # One rota per priority: "the primary rota" must be one rota.
    __table_args__ = (UniqueConstraint("team_id", "priority"),)

    # None until the row is inserted; typed int, as every row the code reads is stored.
    id: int = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    name: str = Field(max_length=200)
    priority: int = 1  # 1 primary, 2 backup, …
    timezone: str = Field(max_length=64)
    # The layers as the API states them (see rotas.Layer); replaced whole on PUT.
    layers: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RotaOverride(SQLModel, table=True):
    __tablename__ = "rota_override"

    id: int = Field(default=None, primary_key=True)
    rota_id: int = Field(foreign_key="rota.id", index=True)
    staff_id: int = Field(foreign_key="staff.id")
    start: datetime
    end: datetime = Field(index=True)
    reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
