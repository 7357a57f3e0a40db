"""Catalog tables. Seats are counted in sections.enrolled, which a CHECK keeps <= capacity."""

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sugang.db.types import Base, UTCDateTime


class CatalogState(Base):
    """One row whose version moves on every catalog change; caches compare against it."""

    __tablename__ = "catalog_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Term(Base):
    __tablename__ = "terms"
    __table_args__ = (
        CheckConstraint("basket_opens_at < basket_closes_at", name="basket_window_order"),
        CheckConstraint("add_drop_opens_at < add_drop_closes_at", name="add_drop_window_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_ko: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    # In rush mode, enroll and drop need an admission token from the waiting room.
    rush_mode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Raised by each reset of the waiting room: a pass issued before carries a lower one and
    # admits no more (checked from the catalog cache, with no I/O per request).
    room_generation: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    basket_opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    basket_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    add_drop_opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    add_drop_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)

    windows: Mapped[list["EnrollmentWindow"]] = relationship(
        back_populates="term",
        cascade="all, delete-orphan",
        order_by="EnrollmentWindow.opens_at",
        lazy="selectin",
    )


class EnrollmentWindow(Base):
    """When a year group (or everyone, year_group NULL) may enroll during the main period."""

    __tablename__ = "enrollment_windows"
    __table_args__ = (
        CheckConstraint("opens_at < closes_at", name="window_order"),
        CheckConstraint("year_group IS NULL OR year_group BETWEEN 1 AND 6", name="year_group"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("terms.id", ondelete="CASCADE"), index=True)
    year_group: Mapped[int | None] = mapped_column(SmallInteger)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)

    term: Mapped[Term] = relationship(back_populates="windows")


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_ko: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))


course_prerequisites = Table(
    "course_prerequisites",
    Base.metadata,
    Column("course_id", ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    Column("prerequisite_id", ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    CheckConstraint("course_id <> prerequisite_id", name="not_self"),
)


class Course(Base):
    __tablename__ = "courses"
    __table_args__ = (CheckConstraint("credits BETWEEN 0 AND 12", name="credits_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    title_ko: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    credits: Mapped[int] = mapped_column(SmallInteger)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)

    department: Mapped[Department] = relationship(lazy="joined")
    prerequisites: Mapped[list["Course"]] = relationship(
        secondary=course_prerequisites,
        primaryjoin="Course.id == course_prerequisites.c.course_id",
        secondaryjoin="Course.id == course_prerequisites.c.prerequisite_id",
        lazy="selectin",
    )


class Section(Base):
    __tablename__ = "sections"
    __table_args__ = (
        UniqueConstraint("term_id", "course_id", "number"),
        CheckConstraint("capacity >= 0", name="capacity_nonnegative"),
        CheckConstraint("enrolled >= 0 AND enrolled <= capacity", name="seats"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("terms.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    number: Mapped[int] = mapped_column(SmallInteger)
    instructor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    instructor_name: Mapped[str] = mapped_column(String(100), default="")
    capacity: Mapped[int] = mapped_column(Integer)
    enrolled: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(8), default="open")

    course: Mapped[Course] = relationship(lazy="joined")
    meeting_times: Mapped[list["MeetingTime"]] = relationship(
        back_populates="section",
        cascade="all, delete-orphan",
        order_by="(MeetingTime.day, MeetingTime.start_minute)",
        lazy="selectin",
    )


class MeetingTime(Base):
    """A weekly slot: day 0 = Monday, minutes from midnight, [start, end)."""

    __tablename__ = "meeting_times"
    __table_args__ = (
        CheckConstraint("day BETWEEN 0 AND 6", name="day"),
        CheckConstraint(
            "start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440",
            name="minutes",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(
        ForeignKey("sections.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[int] = mapped_column(SmallInteger)
    start_minute: Mapped[int] = mapped_column(SmallInteger)
    end_minute: Mapped[int] = mapped_column(SmallInteger)
    room: Mapped[str] = mapped_column(String(50), default="")

    section: Mapped[Section] = relationship(back_populates="meeting_times")
