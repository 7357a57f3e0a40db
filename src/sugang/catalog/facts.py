"""The catalog as the registration rules see it: terms with their windows, sections with their
course, credits, status, weekly meetings and prerequisites. Plain values, no I/O; loaded and
cached per process by sugang.catalog.cache. Seats are not among them: the claim reads those
live."""

from dataclasses import dataclass, field
from datetime import datetime

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Slot:
    """A weekly meeting: day 0 = Monday, minutes from midnight, half-open [start, end)."""

    day: int
    start_minute: int
    end_minute: int
    room: str = ""

    def overlaps(self, other: "Slot") -> bool:
        return (
            self.day == other.day
            and self.start_minute < other.end_minute
            and other.start_minute < self.end_minute
        )

    def label(self) -> str:
        return (
            f"{DAY_NAMES[self.day]} {self.start_minute // 60:02d}:{self.start_minute % 60:02d}"
            f"-{self.end_minute // 60:02d}:{self.end_minute % 60:02d}"
        )


@dataclass(frozen=True)
class Window:
    opens_at: datetime
    closes_at: datetime
    year_group: int | None = None  # None: every year group

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at

    def admits(self, year: int) -> bool:
        return self.year_group is None or self.year_group == year


@dataclass(frozen=True)
class TermInfo:
    id: int
    code: str
    basket: Window
    add_drop: Window
    enrollment_windows: tuple[Window, ...] = ()
    rush_mode: bool = False
    room_generation: int = 0  # raised by each reset of the waiting room


@dataclass(frozen=True)
class SectionInfo:
    id: int
    term_id: int
    course_id: int
    course_code: str
    credits: int
    number: int = 1
    status: str = "open"
    slots: tuple[Slot, ...] = ()
    prerequisites: dict[int, str] = field(default_factory=dict)  # course id -> code
