"""Request and response shapes for enrollment, the waitlist and the basket."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from sugang.catalog.schemas import Id, SectionOut


class EnrollRequest(BaseModel):
    section_id: Id
    waitlist: bool = Field(default=False, description="join the waitlist if the section is full")


class EnrollOut(BaseModel):
    status: Literal["enrolled", "waitlisted"]
    section_id: int
    enrollment_id: int | None = None
    position: int | None = Field(default=None, description="waitlist position, 1 = next")


class BasketRequest(BaseModel):
    section_id: Id


class WaitlistedSection(BaseModel):
    section: SectionOut
    position: int


class MyEnrollments(BaseModel):
    term_id: int
    credits: int
    max_credits: int
    enrollments: list[SectionOut]
    waitlist: list[WaitlistedSection]


class TimetableSlot(BaseModel):
    day: Annotated[int, Field(ge=0, le=6)]
    day_name: str
    start: str
    end: str
    room: str
    section_id: int
    course_code: str
    title_ko: str
    title_en: str


class Timetable(BaseModel):
    term_id: int
    credits: int
    slots: list[TimetableSlot]


class Basket(BaseModel):
    term_id: int
    credits: int
    sections: list[SectionOut]
