"""enrollments.term_id: RESTRICT instead of CASCADE, so that deleting a term can never take an
acknowledged enrollment with it (a claim committing while the term is being deleted makes the
deletion fail instead)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "fk_enrollments_term_id_terms"


def _term_key(ondelete: str) -> None:
    with op.batch_alter_table("enrollments") as batch:
        batch.drop_constraint(_NAME, type_="foreignkey")
        batch.create_foreign_key(_NAME, "terms", ["term_id"], ["id"], ondelete=ondelete)


def upgrade() -> None:
    _term_key("RESTRICT")


def downgrade() -> None:
    _term_key("CASCADE")
