"""Request and response shapes for the catalog, separate from the tables."""

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    model_validator,
)

from sugang.catalog.facts import DAY_NAMES

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Code = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_.\-]+$")]
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
_DAYS = {name.lower(): i for i, name in enumerate(DAY_NAMES)} | {
    "월": 0,
    "화": 1,
    "수": 2,
    "목": 3,
    "금": 4,
    "토": 5,
    "일": 6,
}


def minutes_of(hhmm: str) -> int:
    if not _HHMM.match(hhmm):
        raise ValueError(f"time must be HH:MM, got {hhmm!r}")
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def hhmm_of(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def day_of(value: object) -> int:
    if isinstance(value, int) and 0 <= value <= 6:
        return value
    key = str(value).strip().lower()
    for candidate in (key[:3], key[:1]):
        if candidate in _DAYS:
            return _DAYS[candidate]
    raise ValueError(f"unknown day {value!r}; use 0-6, Mon..Sun or 월..일")


def _minutes(value: object) -> int:
    if isinstance(value, int):
        return value
    return minutes_of(str(value))


Day = Annotated[int, BeforeValidator(day_of), Field(ge=0, le=6, description="0 = Monday")]
Minute = Annotated[
    int,
    BeforeValidator(_minutes),
    Field(ge=0, le=1440, description="'HH:MM' or minutes after midnight"),
]


class MeetingTimeIn(BaseModel):
    day: Day
    start: Minute
    end: Minute
    room: str = Field(default="", max_length=50)

    @model_validator(mode="after")
    def _ordered(self) -> "MeetingTimeIn":
        if self.start >= self.end:
            raise ValueError("a meeting must end after it starts")
        return self


class MeetingTimeOut(BaseModel):
    day: int
    day_name: str
    start: str
    end: str
    room: str


def parse_meeting_times(text: str) -> list[MeetingTimeIn]:
    """'Mon 09:00-10:15 E301; Wed 09:00-10:15 E301' -> meeting times (CSV format)."""
    meetings = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        match = re.match(r"^(\S+)\s+(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})(?:\s+(.+))?$", part)
        if not match:
            raise ValueError(f"meeting time {part!r} is not like 'Mon 09:00-10:15 E301'")
        day, start, end, room = match.groups()
        meetings.append(MeetingTimeIn(day=day, start=start, end=end, room=room or ""))
    return meetings


def _within_calendar(moment: datetime) -> datetime:
    try:
        year = moment.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not 2000 <= year <= 2999:
        raise ValueError("dates must fall between the years 2000 and 2999")
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(_within_calendar)]


class WindowIn(BaseModel):
    year_group: Annotated[int, Field(ge=1, le=6)] | None = None
    opens_at: Moment
    closes_at: Moment

    @model_validator(mode="after")
    def _ordered(self) -> "WindowIn":
        if self.opens_at >= self.closes_at:
            raise ValueError("a window must close after it opens")
        return self


class WindowOut(BaseModel):
    year_group: int | None
    opens_at: datetime
    closes_at: datetime


class TermIn(BaseModel):
    code: Annotated[str, Field(min_length=1, max_length=32)]
    name_ko: Annotated[str, Field(min_length=1, max_length=100)]
    name_en: Annotated[str, Field(min_length=1, max_length=100)]
    is_current: bool = False
    basket: WindowIn
    add_drop: WindowIn
    enrollment_windows: list[WindowIn] = Field(default_factory=list, max_length=20)


class TermPatch(BaseModel):
    name_ko: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    name_en: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    is_current: bool | None = None
    basket: WindowIn | None = None
    add_drop: WindowIn | None = None
    enrollment_windows: list[WindowIn] | None = Field(default=None, max_length=20)


class TermOut(BaseModel):
    id: int
    code: str
    name_ko: str
    name_en: str
    is_current: bool
    basket: WindowOut
    add_drop: WindowOut
    enrollment_windows: list[WindowOut]


class DepartmentIn(BaseModel):
    code: Code
    name_ko: Annotated[str, Field(min_length=1, max_length=100)]
    name_en: Annotated[str, Field(min_length=1, max_length=100)]


class DepartmentOut(DepartmentIn):
    id: int


class CourseIn(BaseModel):
    code: Code
    title_ko: Annotated[str, Field(min_length=1, max_length=200)]
    title_en: Annotated[str, Field(min_length=1, max_length=200)]
    credits: Annotated[int, Field(ge=0, le=12)]
    department_code: Code
    prerequisite_codes: list[Code] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _not_its_own_prerequisite(self) -> "CourseIn":
        if self.code in self.prerequisite_codes:
            raise ValueError("a course cannot be its own prerequisite")
        return self


class CoursePatch(BaseModel):
    title_ko: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    title_en: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    credits: Annotated[int, Field(ge=0, le=12)] | None = None
    department_code: Code | None = None
    prerequisite_codes: list[Code] | None = Field(default=None, max_length=20)


class CourseOut(BaseModel):
    id: int
    code: str
    title_ko: str
    title_en: str
    credits: int
    department_code: str
    prerequisite_codes: list[str]


class SectionIn(BaseModel):
    term_id: Id
    course_code: Code
    number: Annotated[int, Field(ge=1, le=999)]
    capacity: Annotated[int, Field(ge=0, le=100_000)]
    instructor_name: str = Field(default="", max_length=100)
    instructor_username: str | None = Field(default=None, max_length=64)
    status: Annotated[str, Field(pattern="^(open|closed)$")] = "open"
    meeting_times: list[MeetingTimeIn] = Field(default_factory=list, max_length=14)


class SectionPatch(BaseModel):
    capacity: Annotated[int, Field(ge=0, le=100_000)] | None = None
    instructor_name: str | None = Field(default=None, max_length=100)
    instructor_username: str | None = Field(default=None, max_length=64)
    status: Annotated[str, Field(pattern="^(open|closed)$")] | None = None
    meeting_times: list[MeetingTimeIn] | None = Field(default=None, max_length=14)


class SectionOut(BaseModel):
    id: int
    term_id: int
    course_id: int
    course_code: str
    title_ko: str
    title_en: str
    credits: int
    department_code: str
    number: int
    instructor_name: str
    instructor_id: int | None
    capacity: int
    enrolled: int
    seats_left: int
    waitlist_length: int
    status: str
    meeting_times: list[MeetingTimeOut]
    prerequisite_codes: list[str]


class SectionPage(BaseModel):
    items: list[SectionOut]
    page: int
    page_size: int
    total: int
