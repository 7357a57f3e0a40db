"""Enrollments, waitlists and baskets."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sugang.db.types import Base, UTCDateTime


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        # One section per course per term: the database refuses a double enrollment.
        UniqueConstraint("student_id", "term_id", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # RESTRICT: a term with enrollments cannot be deleted, whatever commits meanwhile.
    term_id: Mapped[int] = mapped_column(ForeignKey("terms.id", ondelete="RESTRICT"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    source: Mapped[str] = mapped_column(String(16), default="live")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WaitlistEntry(Base):
    """Position is the order of id among a section's entries."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        UniqueConstraint("section_id", "student_id"),
        Index("ix_waitlist_entries_student_id", "student_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BasketEntry(Base):
    __tablename__ = "basket_entries"

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    section_id: Mapped[int] = mapped_column(
        ForeignKey("sections.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
