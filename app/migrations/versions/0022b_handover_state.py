"""handover state on the contact: reply reminders, the KEEP deadline at shift end

Revision ID: 0022b
Revises: 0022a
Create Date: 2026-12-03 08:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0022b"
down_revision: str | None = "0022a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reply_reminders", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("handover_due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("holder_kept_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_contact_handover_due_at"), ["handover_due_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_handover_due_at"))
        batch_op.drop_column("holder_kept_at")
        batch_op.drop_column("handover_due_at")
        batch_op.drop_column("reply_reminders")
