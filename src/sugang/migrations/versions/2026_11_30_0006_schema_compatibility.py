"""schema_compatibility: the oldest code revision the schema still serves, so that pods of an
older release (a rollback, the HPA scaling the old ReplicaSet during a rollout) can tell a
later schema they still work with from one they do not

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 21:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Code at 0005 knows nothing of this table and needs nothing of it: it still serves.
serves_code_from = "0005"


def upgrade() -> None:
    op.create_table(
        "schema_compatibility",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("oldest_code_revision", sa.String(length=32), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_schema_compatibility_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schema_compatibility")),
    )


def downgrade() -> None:
    op.drop_table("schema_compatibility")
