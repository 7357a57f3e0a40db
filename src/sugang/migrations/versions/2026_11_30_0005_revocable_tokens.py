"""Revocable login tokens: users.token_version and users.disabled, the token_revocations
log; user ids never reused on SQLite (AUTOINCREMENT); idempotency records tied to their user
(deleted with them) and indexed by age for the purge; terms.room_generation, which voids the
admission passes issued before a reset of the waiting room

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USER_KEY = "fk_idempotency_records_user_id_users"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # On SQLite the table is rebuilt (the runner turns foreign keys off meanwhile), which is
    # the only way to give it AUTOINCREMENT; PostgreSQL's sequences never reuse an id.
    with op.batch_alter_table(
        "users",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch:
        batch.add_column(
            sa.Column("token_version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("terms") as batch:
        batch.add_column(
            sa.Column("room_generation", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    op.create_table(
        "token_revocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("min_version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_revocations")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_token_revocations_at", "token_revocations", ["at"])
    op.execute("DELETE FROM idempotency_records WHERE user_id NOT IN (SELECT id FROM users)")
    with op.batch_alter_table("idempotency_records") as batch:
        batch.create_foreign_key(_USER_KEY, "users", ["user_id"], ["id"], ondelete="CASCADE")
    op.create_index("ix_idempotency_records_created_at", "idempotency_records", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_records_created_at", table_name="idempotency_records")
    with op.batch_alter_table("idempotency_records") as batch:
        batch.drop_constraint(_USER_KEY, type_="foreignkey")
    op.drop_index("ix_token_revocations_at", table_name="token_revocations")
    op.drop_table("token_revocations")
    with op.batch_alter_table("terms") as batch:
        batch.drop_column("room_generation")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled")
        batch.drop_column("token_version")
