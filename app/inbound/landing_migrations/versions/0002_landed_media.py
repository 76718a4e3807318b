"""landed_sms.media: an MMS's attachments

Revision ID: landing_0002
Revises: landing_0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "landing_0002"
down_revision = "landing_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # landing_0001 creates the table as the module declares it now, media
    # included: only a file made before this column needs it added.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("landed_sms")}
    if "media" not in columns:
        with op.batch_alter_table("landed_sms", schema=None) as batch_op:
            batch_op.add_column(sa.Column("media", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("landed_sms", schema=None) as batch_op:
        batch_op.drop_column("media")
