"""landed_sms: texts the webhook took, waiting for the router (SQLite only)

Revision ID: landing_0001
Revises:
Create Date: 2026-12-01
"""

from alembic import op

from app.inbound.landing import landed

revision = "landing_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The table as app.inbound.landing declares it (its one definition): the
    # file holds only texts in transit, so this baseline is what a new file
    # gets. A later change of shape is a migration of its own that alters a
    # file made before it.
    landed.create(op.get_bind())


def downgrade() -> None:
    landed.drop(op.get_bind())
