"""terms.rush_mode: enroll and drop require an admission token from the waiting room

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("terms") as batch:
        batch.add_column(
            sa.Column("rush_mode", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("terms") as batch:
        batch.drop_column("rush_mode")
