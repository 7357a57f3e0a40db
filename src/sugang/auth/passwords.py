"""Password hashing with argon2id, run in a worker thread so the event loop keeps serving.

Parameters (SUGANG_PASSWORD_MEMORY_KIB, SUGANG_PASSWORD_TIME_COST): by default 8 MiB, t=2,
p=1, about 9 ms per verification on the 2-core benchmark machine, so that 2 workers log in
over 100 students a second at the opening minute. That is below OWASP's argon2id minimum
(19 MiB with t=2, or an equal-cost set: about 20 ms here, which caps logins near 70/s on
two cores shared with the database); a deployment with more cores can raise them, and
docs/architecture.md says what the lower cost gives up. Hashes carry their parameters:
login rehashes a hash made with other parameters, so changing them needs no migration.
"""

import asyncio
from functools import lru_cache
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sugang.config import get_settings


@lru_cache
def _hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.password_time_cost,
        memory_cost=settings.password_memory_kib,
        parallelism=1,
    )


@lru_cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both answers take the same time."""
    return _hasher().hash("sugang-no-such-user")


def hash_password_sync(password: str) -> str:
    return _hasher().hash(password)


# Each hash holds its memory cost while it runs; more at once than there are cores only adds
# memory (40 at once, anyio's default, took workers past 400 MB in a 5,000-student login).
_HASHING_AT_ONCE = 4
_limiters: "WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter]" = (
    WeakKeyDictionary()
)


def _hashing_slots() -> anyio.CapacityLimiter:
    """One limiter per event loop (a limiter belongs to the loop it was made in)."""
    loop = asyncio.get_running_loop()
    if loop not in _limiters:
        _limiters[loop] = anyio.CapacityLimiter(_HASHING_AT_ONCE)
    return _limiters[loop]


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password_sync, password, limiter=_hashing_slots())


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            hasher = _hasher()
            return hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify, limiter=_hashing_slots())


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return False
