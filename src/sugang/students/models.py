"""A student is a user with a year group and a credit limit; the row is the per-student lock
and its version says when what the rules read of the student last changed."""

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, SmallInteger, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sugang.auth.models import User
from sugang.db.types import Base

completed_courses = Table(
    "completed_courses",
    Base.metadata,
    Column("student_id", ForeignKey("students.id", ondelete="CASCADE"), primary_key=True),
    Column("course_id", ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
)


class Student(Base):
    __tablename__ = "students"
    __table_args__ = (
        CheckConstraint("year BETWEEN 1 AND 6", name="year"),
        CheckConstraint("max_credits BETWEEN 0 AND 40", name="max_credits"),
    )

    id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    max_credits: Mapped[int] = mapped_column(SmallInteger, default=18)
    # Moves in every transaction that changes the student's enrollments, year, credit limit
    # or completed courses: an enrollment judged on an older version is not claimed.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    user: Mapped[User] = relationship(lazy="joined")
