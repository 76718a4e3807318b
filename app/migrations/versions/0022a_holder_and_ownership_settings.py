"""a contact in acknowledged always has a holder; reply and unanswered repeat settings

Revision ID: 0022a
Revises: 0003
Create Date: 2026-12-03 08:00:00

An acknowledged contact without a person (the API once allowed it) goes
back to `open`, due at once, so the escalation tick notifies its next level:
nobody was with the client.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022a"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "status <> 'acknowledged' OR acknowledged_by IS NOT NULL"


def upgrade() -> None:
    op.execute(
        "UPDATE contact SET status = 'open', acknowledged_at = NULL, "
        "next_escalation_at = CURRENT_TIMESTAMP "
        "WHERE status = 'acknowledged' AND acknowledged_by IS NULL"
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_check_constraint("acknowledged_has_holder", CHECK)
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reply_timeout_seconds", sa.Integer(), nullable=False, server_default="600")
        )
        batch_op.add_column(
            sa.Column(
                "unanswered_repeat_seconds", sa.Integer(), nullable=False, server_default="900"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("unanswered_repeat_seconds")
        batch_op.drop_column("reply_timeout_seconds")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_constraint("ck_contact_acknowledged_has_holder", type_="check")
