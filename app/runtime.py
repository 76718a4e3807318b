"""What an instance holds besides the app: database, settings, outbound transport."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.db import Database
from app.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    extras: dict = field(default_factory=dict)

    def close(self) -> None:
        pass


def build_runtime(settings: Settings, db: Database) -> Runtime:
    return Runtime(settings=settings, db=db)
