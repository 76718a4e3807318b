"""sender and recipient numbers hold what the webhook accepts (64 characters)

Revision ID: 0027d
Revises: 0027c
Create Date: 2026-12-03 11:50:00

A From of up to 64 characters is accepted by the SMS webhook (a short code,
an alphanumeric sender, a channel address): the contact it opens, the
replies to it, its opt-out and its language must store it too. At 20 a
PostgreSQL insert of such a number failed and the text was never routed.
"""

from collections.abc import Sequence

import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0027d"
down_revision: str | None = "0027c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("contact", "from_number"),
    ("outbound_message", "to_number"),
    ("outbound_message", "from_number"),
    ("sms_opt_out", "number"),
    ("number_language", "number"),
)


def _alter(length_from: int, length_to: int) -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sqlmodel.sql.sqltypes.AutoString(length=length_from),
                type_=sqlmodel.sql.sqltypes.AutoString(length=length_to),
                existing_nullable=False,
            )


def upgrade() -> None:
    _alter(20, 64)


def downgrade() -> None:
    _alter(64, 20)
