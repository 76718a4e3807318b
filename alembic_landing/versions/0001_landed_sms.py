"""landed_sms: texts the webhook took, waiting for the router (SQLite only)

Revision ID: landing_0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "landing_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "landed_sms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_sid", sa.String(length=64), nullable=False),
        sa.Column("to_number", sa.String(length=20), nullable=False),
        sa.Column("from_number", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("moved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.UniqueConstraint("message_sid", name="uq_landed_sms_message_sid"),
    )
    op.create_index("ix_landed_sms_moved_at", "landed_sms", ["moved_at"])


def downgrade() -> None:
    op.drop_index("ix_landed_sms_moved_at", table_name="landed_sms")
    op.drop_table("landed_sms")
