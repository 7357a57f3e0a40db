"""Password hashing with argon2id, run in a worker thread so the event loop keeps serving.

Parameters (SUGANG_PASSWORD_MEMORY_KIB, SUGANG_PASSWORD_TIME_COST): by default OWASP's
minimum, 19 MiB with t=2, p=1 (production refuses less than one of OWASP's equal-cost
pairs). Hashes carry their parameters: login rehashes a hash made with weaker parameters
than the configured ones, never a stronger one, so raising them needs no migration and
lowering them weakens no stored hash.
"""

import asyncio
from functools import lru_cache
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
from argon2 import PasswordHasher, extract_parameters
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
    """Only upward: the stored hash costs less (memory × iterations) than the configured
    parameters would, or is not argon2id."""
    hasher = _hasher()
    try:
        stored = extract_parameters(password_hash)
    except InvalidHashError:
        return False
    configured = hasher.memory_cost * hasher.time_cost
    return stored.type != hasher.type or stored.memory_cost * stored.time_cost < configured
