"""Everyone who logs in (a student's user name is the student number), and the log of
revoked login tokens."""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from sugang.db.types import Base, UTCDateTime


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('student', 'professor', 'admin')", name="role"),
        # An id is never given twice (SQLite would reuse the highest after a deletion): a
        # deleted user's token must never act as the next user created.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Carried by each login token; raised by a password change, a role change or disabling,
    # which voids every token issued before (sugang.auth.revocations).
    token_version: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    disabled: Mapped[bool] = mapped_column(Boolean, server_default=false())


class TokenRevocation(Base):
    """Tokens of `user_id` with a version under `min_version` are void from `at` on. Every
    worker reads the rows past the last one it saw, about once a second; rows older than the
    longest token lifetime are purged."""

    __tablename__ = "token_revocations"
    __table_args__ = (Index("ix_token_revocations_at", "at"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    min_version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
