"""What a running sugang process holds: settings, database, clock, caches and services."""

from dataclasses import dataclass, field

from sugang.catalog.cache import CatalogCache
from sugang.clock import Clock, utc_now
from sugang.config import Settings
from sugang.db import Database
from sugang.enrollment.service import EnrollmentService


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock = utc_now
    catalog: CatalogCache = field(default_factory=CatalogCache)
    enrollment: EnrollmentService = field(init=False)

    def __post_init__(self) -> None:
        self.enrollment = EnrollmentService(self.catalog, self.clock)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = utc_now) -> "Services":
        return cls(settings=settings, db=Database(settings), clock=clock)
