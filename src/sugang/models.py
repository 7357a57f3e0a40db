"""Imports every table so that Base.metadata (migrations, tests) sees the whole schema."""

from sugang.auth.models import User
from sugang.base import Base
from sugang.catalog.models import (
    CatalogState,
    Course,
    Department,
    EnrollmentWindow,
    MeetingTime,
    Section,
    Term,
    course_prerequisites,
)
from sugang.enrollment.models import (
    AuditEntry,
    BasketEntry,
    Enrollment,
    IdempotencyRecord,
    WaitlistEntry,
)
from sugang.students.models import Student, completed_courses

__all__ = [
    "AuditEntry",
    "Base",
    "BasketEntry",
    "CatalogState",
    "Course",
    "Department",
    "Enrollment",
    "EnrollmentWindow",
    "IdempotencyRecord",
    "MeetingTime",
    "Section",
    "Student",
    "Term",
    "User",
    "WaitlistEntry",
    "completed_courses",
    "course_prerequisites",
]
