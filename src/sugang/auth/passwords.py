"""Password hashing with argon2id, run in a worker thread so the event loop keeps serving.

Parameters: one of OWASP's equivalent argon2id minimums (9 MiB, t=4, p=1). On this project's
2-core benchmark machine all of OWASP's equivalent sets cost about the same (27-34 ms per
verification, measured 2026-11-23); this one was the cheapest, for logins at the opening
minute. Hashes carry their parameters: login rehashes a hash made with other parameters.
"""

import asyncio
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

HASHER = PasswordHasher(time_cost=4, memory_cost=9 * 1024, parallelism=1)

# Verified against when the user does not exist, so both answers take the same time.
_DUMMY_HASH = HASHER.hash("sugang-no-such-user")


def hash_password_sync(password: str) -> str:
    return HASHER.hash(password)


# Each hash takes 9 MiB; running more at once than there are cores only adds memory (40 at
# once, anyio's default, took workers past 400 MB during a 5,000-student login).
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
    return await anyio.to_thread.run_sync(HASHER.hash, password, limiter=_hashing_slots())


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify, limiter=_hashing_slots())


def needs_rehash(password_hash: str) -> bool:
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False
