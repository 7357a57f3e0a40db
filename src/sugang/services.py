"""What a running sugang process holds: settings, database, clock, caches and services."""

import random
from dataclasses import dataclass, field

from sugang.catalog.cache import CatalogCache
from sugang.clock import Clock, utc_now
from sugang.config import Settings
from sugang.db import Database
from sugang.enrollment.fullness import FullSections, LocalFullSections, RedisFullSections
from sugang.enrollment.service import EnrollmentService
from sugang.ratelimit import Limiter, MemoryLimiter, RedisLimiter
from sugang.waitingroom.controller import LatencyWindow
from sugang.waitingroom.memory import MemoryWaitingRoom
from sugang.waitingroom.redis_room import RedisWaitingRoom
from sugang.waitingroom.room import WaitingRoom


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock = utc_now
    rng: random.Random = field(default_factory=random.Random)
    catalog: CatalogCache = field(default_factory=CatalogCache)
    waiting_room: WaitingRoom | None = None
    latency: LatencyWindow = field(default_factory=LatencyWindow)
    full: FullSections | None = None
    limiter: Limiter | None = None
    enrollment: EnrollmentService = field(init=False)

    def __post_init__(self) -> None:
        self.enrollment = EnrollmentService(self.catalog, self.clock)
        self.latency.seconds = self.settings.adaptive_period_seconds  # what one step judges
        if self.waiting_room is None:
            self.waiting_room = make_waiting_room(self.settings, self.rng)
        url = self.settings.redis_url
        if self.full is None:
            self.full = RedisFullSections(url) if url else LocalFullSections()
        if self.limiter is None:
            self.limiter = RedisLimiter(url) if url else MemoryLimiter()

    @property
    def room(self) -> WaitingRoom:
        assert self.waiting_room is not None
        return self.waiting_room

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = utc_now) -> "Services":
        return cls(settings=settings, db=Database(settings), clock=clock)

    @property
    def full_sections(self) -> FullSections:
        assert self.full is not None
        return self.full

    async def close(self) -> None:
        await self.room.close()
        await self.full_sections.close()
        if self.limiter is not None:
            await self.limiter.close()
        await self.db.dispose()


def make_waiting_room(settings: Settings, rng: random.Random) -> WaitingRoom:
    use_redis = settings.waiting_room == "redis" or (
        settings.waiting_room == "auto" and settings.redis_url
    )
    if use_redis:
        if not settings.redis_url:
            raise ValueError("SUGANG_WAITING_ROOM=redis needs SUGANG_REDIS_URL")
        return RedisWaitingRoom(settings.redis_url, rng)
    return MemoryWaitingRoom(rng)
