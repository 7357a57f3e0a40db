"""Typed settings, read from the environment with the prefix SUGANG_."""

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


@dataclass(frozen=True)
class Sentinels:
    """Redis behind Sentinel: where the sentinels listen, and the name of the master they
    watch."""

    addresses: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    # requirepass of the master and of the sentinels (the same one, as the kit sets them)
    password: str | None = field(default=None, repr=False)


RedisTarget = str | Sentinels  # a redis:// URL, or Sentinels

INSECURE_DEV_SECRET = "sugang-local-development-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUGANG_", extra="ignore")

    environment: Literal["local", "test", "production"] = "local"
    database_url: str = "sqlite+aiosqlite:///./sugang.db"
    secret_key: SecretStr = SecretStr(INSECURE_DEV_SECRET)
    access_token_minutes: int = Field(default=120, ge=1, le=24 * 60)
    # How stale a worker's view of revoked tokens may be (sugang.auth.revocations).
    revocation_poll_seconds: float = Field(default=1.0, ge=0, le=60)
    # argon2id cost (see sugang.auth.passwords for why the default is what it is)
    # argon2id: OWASP's minimum (19 MiB, t=2) by default; production refuses anything under
    # OWASP's equal-cost pairs (OWASP_ARGON2ID_MINIMUMS).
    password_memory_kib: int = Field(default=19 * 1024, ge=1024, le=1024 * 1024)
    password_time_cost: int = Field(default=2, ge=1, le=20)

    db_pool_size: int = Field(default=20, ge=1)
    # Connections past the pool are closed as soon as they are returned, and opening one
    # costs ~10 ms (the driver introspects types): at the rush that churn stalled requests.
    db_max_overflow: int = Field(default=0, ge=0)
    db_pool_timeout_seconds: float = Field(default=30.0, gt=0)
    # Fail fast when the database goes away (a restart, a failover, a lost node): see
    # sugang.db.engine. The statement timeout is lifted for migrations.
    db_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    db_command_timeout_seconds: float | None = Field(default=None, gt=0)
    db_statement_timeout_ms: int = Field(default=8_000, ge=0)
    db_idle_in_transaction_timeout_ms: int = Field(default=30_000, ge=0)
    # "pgbouncer": the database URL points at PgBouncer in transaction mode (CloudNativePG's
    # Pooler in the ha overlay). It passes no session settings at startup, and a server
    # connection serves many clients, so statements are not cached by name on the client and
    # the timeouts are the server's (set on the database in the kit).
    db_pooler: Literal["none", "pgbouncer"] = "none"
    db_keepalive_idle_seconds: int = Field(default=5, ge=1)
    db_keepalive_interval_seconds: int = Field(default=2, ge=1)
    db_keepalive_count: int = Field(default=3, ge=1)
    db_tcp_user_timeout_ms: int = Field(default=10_000, ge=0)
    # The side connection (readiness, metrics): how long its reads may take.
    db_side_timeout_seconds: float = Field(default=1.0, gt=0)
    # /readyz turns 503 after this many database checks in a row have failed.
    ready_failures: int = Field(default=3, ge=1)
    # A second port where each worker answers /readyz and /healthz from a thread, however busy
    # its event loop is (the kit's readiness probe uses it); off when unset.
    health_port: int | None = Field(default=None, ge=1, le=65535)
    # A second port of the same workers that answers /metrics and nothing else (and /metrics
    # is then refused on the main port, so the ingress never exposes it); unset: /metrics on
    # the main port.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)

    # Which node and pod serve a request (X-Served-By); Kubernetes' downward API sets these.
    node_name: str | None = Field(
        default=None, validation_alias=AliasChoices("NODE_NAME", "SUGANG_NODE_NAME")
    )
    pod_name: str | None = Field(
        default=None, validation_alias=AliasChoices("POD_NAME", "SUGANG_POD_NAME")
    )
    access_log: bool = True
    # Past this many access-log lines a second in one worker, only 5xx and slow answers are
    # logged, and a line a second counts the rest (0: only those).
    access_log_per_second: int = Field(default=200, ge=0)
    # auto: readable lines when logs go to a terminal, JSON lines elsewhere (containers).
    log_format: Literal["auto", "json", "console"] = "auto"
    metrics_sections: int = Field(default=20, ge=0, le=500)

    # The waiting room: Redis (shared by every replica) when SUGANG_REDIS_URL is set, else
    # in-process (one server process: the embedded default).
    redis_url: str | None = None
    # Or Redis behind Sentinel: "host:port,host:port,..." and the master's name (a failover
    # is then followed without a restart). Either turns on the Redis waiting room.
    redis_sentinels: Annotated[list[str], NoDecode] = Field(default_factory=list)
    redis_master_name: str = "sugang"
    # Redis's requirepass, for a URL without one and for the master and the sentinels
    # behind Sentinel (the kit gives both the same).
    redis_password: SecretStr | None = None
    waiting_room: Literal["auto", "memory", "redis"] = "auto"
    adaptive_period_seconds: float = Field(default=2.0, gt=0)
    # How often each worker adds its enroll answers' latency to the service's (with Redis:
    # one round trip a worker each time), that the adaptive step judges from.
    adaptive_latency_slice_seconds: float = Field(default=1.0, gt=0, le=60)

    # Token buckets per student and per client address, and the login throttle (sugang.auth.
    # throttle): on in production unless turned off, off elsewhere unless turned on.
    rate_limit_enabled: bool | None = None
    rate_limit_student_per_second: float = Field(default=5.0, gt=0)
    rate_limit_student_burst: int = Field(default=20, ge=1)
    rate_limit_ip_per_second: float = Field(default=100.0, gt=0)  # a PC room shares one address
    rate_limit_ip_burst: int = Field(default=300, ge=1)
    # Per student: taking a ticket (the same one comes back) and reading its place.
    rate_limit_ticket_per_second: float = Field(default=0.5, gt=0)
    rate_limit_ticket_burst: int = Field(default=5, ge=1)
    rate_limit_poll_per_second: float = Field(default=2.0, gt=0)
    rate_limit_poll_burst: int = Field(default=10, ge=1)
    # A challenge before a ticket (sugang.waitingroom.challenge): off, or a proof of work of
    # this many leading zero bits that the web UI solves.
    ticket_challenge: Literal["off", "pow"] = "off"
    ticket_challenge_bits: int = Field(default=16, ge=1, le=28)
    # Failed logins, counted per address, per account and address, and per account (the last
    # only for addresses that already failed for that account, so that a flood against an
    # account never locks its student out on their own phone). Successes count for nothing.
    login_address_failures_per_minute: float = Field(default=10.0, gt=0)
    login_address_failures_burst: int = Field(default=30, ge=1)
    login_pair_failures_per_minute: float = Field(default=2.0, gt=0)
    login_pair_failures_burst: int = Field(default=5, ge=1)
    login_account_failures_per_minute: float = Field(default=6.0, gt=0)
    login_account_failures_burst: int = Field(default=20, ge=1)
    # Logins waiting for a password-hashing slot in one worker past which a login is answered
    # 503 with Retry-After instead of waiting longer.
    max_hash_queue: int = Field(default=32, ge=1)

    # Past this many /api requests in flight in one worker, reads are answered 503 with
    # Retry-After at once (enrollments and drops: past twice as many).
    max_in_flight: int = Field(default=100, ge=1)
    # Of those, how many run at once in one worker; the others wait their turn in arrival
    # order (0: no turns). At most the database pool's size, so a turn never waits for a
    # connection.
    max_active_requests: int = Field(default=16, ge=0)
    # Live queue pages (server-sent event streams) one student may hold, per worker process.
    max_streams_per_student: int = Field(default=2, ge=1)
    # /docs, /redoc and /openapi.json: served unless in production (unless set).
    api_docs: bool | None = None
    # Request bodies past these sizes are answered 413 before the app reads them (before any
    # token is checked or any file written): JSON bodies, and the registrar's CSV imports.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_import_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_import_rows: int = Field(default=100_000, ge=1)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)

    @property
    def rate_limits_on(self) -> bool:
        if self.rate_limit_enabled is not None:
            return self.rate_limit_enabled
        return self.environment == "production"

    @property
    def api_docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.environment != "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def redis(self) -> RedisTarget | None:
        """Where Redis is: the sentinels if given, else the URL, else nowhere; with the
        password if one is set (a password in the URL itself wins)."""
        password = self.redis_password.get_secret_value() if self.redis_password else None
        if self.redis_sentinels:
            addresses = tuple(_host_port(a) for a in self.redis_sentinels)
            return Sentinels(addresses, self.redis_master_name, password=password)
        if self.redis_url and password:
            return _with_password(self.redis_url, password)
        return self.redis_url

    @field_validator("redis_sentinels", mode="before")
    @classmethod
    def _split_sentinels(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_default_secret_outside_local(self) -> "Settings":
        if (
            self.environment == "production"
            and self.secret_key.get_secret_value() == INSECURE_DEV_SECRET
        ):
            raise ValueError(
                "SUGANG_SECRET_KEY must be set to a private random value in production"
            )
        if self.environment == "production" and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("SUGANG_SECRET_KEY must be at least 32 characters in production")
        if self.environment == "production" and not meets_owasp_minimum(
            self.password_memory_kib, self.password_time_cost
        ):
            pairs = ", ".join(f"{m // 1024} MiB with t={t}" for m, t in OWASP_ARGON2ID_MINIMUMS)
            raise ValueError(
                "SUGANG_PASSWORD_MEMORY_KIB and SUGANG_PASSWORD_TIME_COST are under OWASP's"
                f" argon2id minimum in production: at least one of {pairs}"
            )
        return self


# OWASP Password Storage Cheat Sheet: argon2id (memory KiB, iterations), p=1, of equal cost.
OWASP_ARGON2ID_MINIMUMS = (
    (46 * 1024, 1),
    (19 * 1024, 2),
    (12 * 1024, 3),
    (9 * 1024, 4),
    (7 * 1024, 5),
)


def meets_owasp_minimum(memory_kib: int, time_cost: int) -> bool:
    return any(memory_kib >= m and time_cost >= t for m, t in OWASP_ARGON2ID_MINIMUMS)


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"a sentinel is host:port, not {address!r}")
    return host.strip("[]"), int(port)


def _with_password(url: str, password: str) -> str:
    """redis://host:6379/0 as redis://:<password>@host:6379/0, unless it names one already."""
    parts = urlsplit(url)
    if parts.password is not None:
        return url
    netloc = f"{parts.username or ''}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit(parts._replace(netloc=netloc))


@lru_cache
def get_settings() -> Settings:
    return Settings()
