"""inbox_message.media (an MMS's attachments); plan_link.client_id nullable (a link to an unknown caller's conversation)

Revision ID: 0027c
Revises: 0027a
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027c"
down_revision: str | None = "0027a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media", sa.JSON(), nullable=True))
    with op.batch_alter_table("plan_link", schema=None) as batch_op:
        batch_op.alter_column("client_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM plan_link WHERE client_id IS NULL")
    with op.batch_alter_table("plan_link", schema=None) as batch_op:
        batch_op.alter_column("client_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("inbox_message", schema=None) as batch_op:
        batch_op.drop_column("media")
