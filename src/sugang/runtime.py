"""What a running sugang process holds: settings, the database, the clock, shared state, and
each domain's service wired to its collaborators. Built once per process (the app, a CLI
command); handlers are handed the services they use, never this whole. The app attaches its
Prometheus counters to the enrollment service (prometheus_client must not be imported on the
CLI's path: see sugang.observability.metrics)."""

import random
from dataclasses import dataclass, field

from sugang.auth import revocations
from sugang.auth.revocations import Revocations
from sugang.auth.service import AuthService
from sugang.auth.throttle import LoginThrottle
from sugang.buckets import Limiter, MemoryLimiter, RedisLimiter
from sugang.catalog.cache import CatalogCache
from sugang.catalog.service import CatalogService
from sugang.clock import Clock, utc_now
from sugang.config import Settings
from sugang.db import Database, idempotency
from sugang.enrollment.fullness import FullSections, LocalFullSections, RedisFullSections
from sugang.enrollment.service import EnrollmentService
from sugang.registrar.service import RegistrarService
from sugang.students.service import StudentService
from sugang.system.service import SystemService
from sugang.waitingroom.challenge import NoChallenge, ProofOfWork, TicketChallenge
from sugang.waitingroom.latency import ServiceLatency
from sugang.waitingroom.memory import MemoryWaitingRoom
from sugang.waitingroom.redis_room import RedisWaitingRoom
from sugang.waitingroom.room import WaitingRoom
from sugang.waitingroom.service import WaitingRoomService


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock = utc_now
    rng: random.Random = field(default_factory=random.Random)
    catalog_cache: CatalogCache = field(default_factory=CatalogCache)
    waiting_room: WaitingRoom | None = None
    full: FullSections | None = None
    limiter: Limiter | None = None
    ticket_challenge: TicketChallenge | None = None

    latency: ServiceLatency = field(init=False)
    auth: AuthService = field(init=False)
    revocations: Revocations = field(init=False)
    catalog: CatalogService = field(init=False)
    students: StudentService = field(init=False)
    queue: WaitingRoomService = field(init=False)
    enrollment: EnrollmentService = field(init=False)
    registrar: RegistrarService = field(init=False)
    system: SystemService = field(init=False)

    def __post_init__(self) -> None:
        settings, db, clock = self.settings, self.db, self.clock
        if self.waiting_room is None:
            self.waiting_room = make_waiting_room(settings, self.rng)
        # Shared where the room is: one step judges the service's last period.
        self.latency = ServiceLatency(
            self.waiting_room,
            window_seconds=settings.adaptive_period_seconds,
            slice_seconds=settings.adaptive_latency_slice_seconds,
        )
        redis = settings.redis
        if self.full is None:
            self.full = RedisFullSections(redis) if redis else LocalFullSections()
        if self.limiter is None:
            self.limiter = RedisLimiter(redis) if redis else MemoryLimiter()

        if self.ticket_challenge is None:
            self.ticket_challenge = make_ticket_challenge(settings, clock)
        self.auth = AuthService(
            db, clock, settings, LoginThrottle(settings, self.rate_limiter, clock)
        )
        self.revocations = Revocations(
            db,
            settings.revocation_poll_seconds,
            remember_missing_seconds=settings.access_token_minutes * 60 + 300,
        )
        self.catalog = CatalogService(db, clock)
        self.students = StudentService(db, clock)
        self.queue = WaitingRoomService(
            db, self.waiting_room, clock, self.rng, settings, self.latency
        )
        self.enrollment = EnrollmentService(db, self.catalog_cache, clock, self.full)
        self.registrar = RegistrarService(db, clock, self.enrollment)
        self.system = SystemService(db, self.waiting_room, clock, settings)

    @property
    def room(self) -> WaitingRoom:
        assert self.waiting_room is not None
        return self.waiting_room

    @property
    def full_sections(self) -> FullSections:
        assert self.full is not None
        return self.full

    @property
    def rate_limiter(self) -> Limiter:
        assert self.limiter is not None
        return self.limiter

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = utc_now) -> "Services":
        return cls(settings=settings, db=Database(settings), clock=clock)

    async def purge_expired(self) -> None:
        """Forget what has outlived its use: idempotency records past their lifetime, token
        revocations older than any token. (Every worker runs it every few minutes; it is
        idempotent and touches old rows only.)"""
        now = self.clock()
        async with self.db.transaction() as conn:
            await idempotency.purge_expired(conn, now)
            await revocations.purge(
                conn, revocations.purge_horizon(now, self.settings.access_token_minutes)
            )

    async def close(self) -> None:
        await self.room.close()
        await self.full_sections.close()
        await self.rate_limiter.close()
        await self.db.dispose()


def make_ticket_challenge(settings: Settings, clock: Clock) -> TicketChallenge:
    if settings.ticket_challenge == "pow":
        secret = settings.secret_key.get_secret_value()
        return ProofOfWork(secret, settings.ticket_challenge_bits, clock)
    return NoChallenge()


def make_waiting_room(settings: Settings, rng: random.Random) -> WaitingRoom:
    redis = settings.redis
    use_redis = settings.waiting_room == "redis" or (settings.waiting_room == "auto" and redis)
    if use_redis:
        if not redis:
            raise ValueError(
                "SUGANG_WAITING_ROOM=redis needs SUGANG_REDIS_URL or SUGANG_REDIS_SENTINELS"
            )
        return RedisWaitingRoom(redis, rng)
    return MemoryWaitingRoom(rng)
