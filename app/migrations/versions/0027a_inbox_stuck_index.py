"""inbox dead letters: an index over stuck texts

Revision ID: 0027a
Revises: 0023a
Create Date: 2026-12-03 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027a"
down_revision: str | None = "0023a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_inbox_message_stuck",
        "inbox_message",
        ["to_number", "id"],
        unique=False,
        postgresql_where=sa.text("outcome = 'stuck'"),
        sqlite_where=sa.text("outcome = 'stuck'"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_message_stuck", table_name="inbox_message")
