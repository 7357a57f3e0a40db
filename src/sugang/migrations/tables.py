"""Every table, imported so that Base.metadata (Alembic's env, tests) sees the whole schema."""

from sugang.audit import AuditEntry
from sugang.auth.models import TokenRevocation, User
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
from sugang.db.compat import SchemaCompatibility
from sugang.db.idempotency import IdempotencyRecord
from sugang.db.types import Base
from sugang.enrollment.models import BasketEntry, Enrollment, WaitlistEntry
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
    "SchemaCompatibility",
    "Section",
    "Student",
    "Term",
    "TokenRevocation",
    "User",
    "WaitlistEntry",
    "completed_courses",
    "course_prerequisites",
]
