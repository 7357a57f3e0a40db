"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 17:56:15.603227
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column("section_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_student_id", "audit_log", ["student_id"], unique=False)
    op.create_table(
        "catalog_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_state")),
    )
    op.bulk_insert(
        sa.table("catalog_state", sa.column("id", sa.Integer), sa.column("version", sa.Integer)),
        [{"id": 1, "version": 1}],
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name_ko", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("code", name=op.f("uq_departments_code")),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_records")),
    )
    op.create_table(
        "terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_ko", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("basket_opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("basket_closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("add_drop_opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("add_drop_closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "add_drop_opens_at < add_drop_closes_at", name=op.f("ck_terms_add_drop_window_order")
        ),
        sa.CheckConstraint(
            "basket_opens_at < basket_closes_at", name=op.f("ck_terms_basket_window_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terms")),
        sa.UniqueConstraint("code", name=op.f("uq_terms_code")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('student', 'professor', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("title_ko", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("credits", sa.SmallInteger(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("credits BETWEEN 0 AND 12", name=op.f("ck_courses_credits_range")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_courses_department_id_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint("code", name=op.f("uq_courses_code")),
    )
    op.create_index(op.f("ix_courses_department_id"), "courses", ["department_id"], unique=False)
    op.create_table(
        "enrollment_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("year_group", sa.SmallInteger(), nullable=True),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("opens_at < closes_at", name=op.f("ck_enrollment_windows_window_order")),
        sa.CheckConstraint(
            "year_group IS NULL OR year_group BETWEEN 1 AND 6",
            name=op.f("ck_enrollment_windows_year_group"),
        ),
        sa.ForeignKeyConstraint(
            ["term_id"],
            ["terms.id"],
            name=op.f("fk_enrollment_windows_term_id_terms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_windows")),
    )
    op.create_index(
        op.f("ix_enrollment_windows_term_id"), "enrollment_windows", ["term_id"], unique=False
    )
    op.create_table(
        "students",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("max_credits", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("max_credits BETWEEN 0 AND 40", name=op.f("ck_students_max_credits")),
        sa.CheckConstraint("year BETWEEN 1 AND 6", name=op.f("ck_students_year")),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_students_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["users.id"], name=op.f("fk_students_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_students")),
    )
    op.create_index(op.f("ix_students_department_id"), "students", ["department_id"], unique=False)
    op.create_table(
        "completed_courses",
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_completed_courses_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_completed_courses_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("student_id", "course_id", name=op.f("pk_completed_courses")),
    )
    op.create_table(
        "course_prerequisites",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("prerequisite_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "course_id <> prerequisite_id", name=op.f("ck_course_prerequisites_not_self")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_prerequisites_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prerequisite_id"],
            ["courses.id"],
            name=op.f("fk_course_prerequisites_prerequisite_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "course_id", "prerequisite_id", name=op.f("pk_course_prerequisites")
        ),
    )
    op.create_table(
        "sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.SmallInteger(), nullable=False),
        sa.Column("instructor_id", sa.Integer(), nullable=True),
        sa.Column("instructor_name", sa.String(length=100), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("enrolled", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_sections_status")),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_sections_capacity_nonnegative")),
        sa.CheckConstraint(
            "enrolled >= 0 AND enrolled <= capacity", name=op.f("ck_sections_seats")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_sections_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["instructor_id"], ["users.id"], name=op.f("fk_sections_instructor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["term_id"], ["terms.id"], name=op.f("fk_sections_term_id_terms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sections")),
        sa.UniqueConstraint(
            "term_id", "course_id", "number", name=op.f("uq_sections_term_id_course_id_number")
        ),
    )
    op.create_index(op.f("ix_sections_course_id"), "sections", ["course_id"], unique=False)
    op.create_index(op.f("ix_sections_instructor_id"), "sections", ["instructor_id"], unique=False)
    op.create_index(op.f("ix_sections_term_id"), "sections", ["term_id"], unique=False)
    op.create_table(
        "basket_entries",
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_basket_entries_section_id_sections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_basket_entries_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("student_id", "section_id", name=op.f("pk_basket_entries")),
    )
    op.create_index(
        op.f("ix_basket_entries_section_id"), "basket_entries", ["section_id"], unique=False
    )
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_enrollments_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"], ["sections.id"], name=op.f("fk_enrollments_section_id_sections")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_enrollments_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["term_id"], ["terms.id"], name=op.f("fk_enrollments_term_id_terms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint(
            "student_id",
            "term_id",
            "course_id",
            name=op.f("uq_enrollments_student_id_term_id_course_id"),
        ),
    )
    op.create_index(op.f("ix_enrollments_section_id"), "enrollments", ["section_id"], unique=False)
    op.create_table(
        "meeting_times",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.SmallInteger(), nullable=False),
        sa.Column("start_minute", sa.SmallInteger(), nullable=False),
        sa.Column("end_minute", sa.SmallInteger(), nullable=False),
        sa.Column("room", sa.String(length=50), nullable=False),
        sa.CheckConstraint("day BETWEEN 0 AND 6", name=op.f("ck_meeting_times_day")),
        sa.CheckConstraint(
            "start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440",
            name=op.f("ck_meeting_times_minutes"),
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_meeting_times_section_id_sections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_times")),
    )
    op.create_index(
        op.f("ix_meeting_times_section_id"), "meeting_times", ["section_id"], unique=False
    )
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_waitlist_entries_section_id_sections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_waitlist_entries_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
        sa.UniqueConstraint(
            "section_id", "student_id", name=op.f("uq_waitlist_entries_section_id_student_id")
        ),
    )
    op.create_index(
        "ix_waitlist_entries_student_id", "waitlist_entries", ["student_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_waitlist_entries_student_id", table_name="waitlist_entries")
    op.drop_table("waitlist_entries")
    op.drop_index(op.f("ix_meeting_times_section_id"), table_name="meeting_times")
    op.drop_table("meeting_times")
    op.drop_index(op.f("ix_enrollments_section_id"), table_name="enrollments")
    op.drop_table("enrollments")
    op.drop_index(op.f("ix_basket_entries_section_id"), table_name="basket_entries")
    op.drop_table("basket_entries")
    op.drop_index(op.f("ix_sections_term_id"), table_name="sections")
    op.drop_index(op.f("ix_sections_instructor_id"), table_name="sections")
    op.drop_index(op.f("ix_sections_course_id"), table_name="sections")
    op.drop_table("sections")
    op.drop_table("course_prerequisites")
    op.drop_table("completed_courses")
    op.drop_index(op.f("ix_students_department_id"), table_name="students")
    op.drop_table("students")
    op.drop_index(op.f("ix_enrollment_windows_term_id"), table_name="enrollment_windows")
    op.drop_table("enrollment_windows")
    op.drop_index(op.f("ix_courses_department_id"), table_name="courses")
    op.drop_table("courses")
    op.drop_table("users")
    op.drop_table("terms")
    op.drop_table("idempotency_records")
    op.drop_table("departments")
    op.drop_table("catalog_state")
    op.drop_index("ix_audit_log_student_id", table_name="audit_log")
    op.drop_table("audit_log")
