"""Request and response shapes for students."""

from typing import Annotated

from pydantic import BaseModel, Field

from sugang.auth.schemas import Password

StudentNumber = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
CourseCode = Annotated[str, Field(min_length=1, max_length=16)]


class StudentIn(BaseModel):
    student_number: StudentNumber
    name: Annotated[str, Field(min_length=1, max_length=100)]
    year: Annotated[int, Field(ge=1, le=6)]
    department_code: str | None = Field(default=None, max_length=16)
    max_credits: Annotated[int, Field(ge=0, le=40)] = 18
    password: Password
    completed_course_codes: list[CourseCode] = Field(default_factory=list, max_length=200)


class StudentPatch(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    year: Annotated[int, Field(ge=1, le=6)] | None = None
    department_code: str | None = Field(default=None, max_length=16)
    max_credits: Annotated[int, Field(ge=0, le=40)] | None = None
    password: Password | None = None
    completed_course_codes: list[CourseCode] | None = Field(default=None, max_length=200)


class StudentOut(BaseModel):
    id: int
    student_number: str
    name: str
    year: int
    department_code: str | None
    max_credits: int
    completed_course_codes: list[str]


class StudentPage(BaseModel):
    items: list[StudentOut]
    page: int
    page_size: int
    total: int
