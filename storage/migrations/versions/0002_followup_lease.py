"""Follow-up lease: a follow-up being answered by a worker that died is requeued.

Revision ID: 0002_followup_lease
Revises: 0001_initial
Create Date: 2026-12-05

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_followup_lease"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("followups") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("followups") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
