"""The rate limits: each /api request's client address and caller buckets (RateLimit), and
per-student caps on single routes (`over_cap`). A request over a bucket is answered 429 with
Retry-After. (The buckets themselves: sugang.buckets.)"""

import math
from collections.abc import Callable

from fastapi import Request

from sugang.buckets import Bucket, Limiter
from sugang.clock import Clock
from sugang.config import Settings
from sugang.errors import RateLimited
from sugang.http.deps import bearer


async def over_cap(limiter: Limiter, key: str, bucket: Bucket, now: float) -> None:
    """RATE_LIMITED if the bucket at `key` has no token left."""
    wait = await limiter.take(key, bucket, now)
    if wait > 0:
        raise RateLimited(retry_after=math.ceil(wait))


class RateLimit:
    """The dependency applied to every /api route: the client address's bucket, then the
    caller's (`user_of` reads the user id from a bearer token, None if it is not valid)."""

    def __init__(
        self,
        settings: Settings,
        limiter: Limiter,
        clock: Clock,
        user_of: Callable[[str], int | None],
    ) -> None:
        self.settings = settings
        self.limiter = limiter
        self.clock = clock
        self.user_of = user_of

    async def __call__(self, request: Request) -> None:
        settings = self.settings
        if not settings.rate_limits_on or not request.url.path.startswith("/api/"):
            return
        now = self.clock().timestamp()
        client = request.client.host if request.client else "unknown"
        ip_bucket = Bucket(settings.rate_limit_ip_per_second, settings.rate_limit_ip_burst)
        checks = [(f"ip:{client}", ip_bucket)]
        if token := bearer(request):
            user_id = self.user_of(token)
            if user_id is not None:
                user_bucket = Bucket(
                    settings.rate_limit_student_per_second, settings.rate_limit_student_burst
                )
                checks.append((f"user:{user_id}", user_bucket))
        wait = await self.limiter.take_each(checks, now)  # one round trip for both
        if wait > 0:
            raise RateLimited(retry_after=math.ceil(wait))
