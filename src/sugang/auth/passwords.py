"""Password hashing with argon2id, run in a worker thread so the event loop keeps serving.

Parameters (SUGANG_PASSWORD_MEMORY_KIB, SUGANG_PASSWORD_TIME_COST): by default OWASP's
minimum, 19 MiB with t=2, p=1 (production refuses less than one of OWASP's equal-cost
pairs). Hashes carry their parameters: login rehashes a hash made with weaker parameters
than the configured ones, never a stronger one, so raising them needs no migration and
lowering them weakens no stored hash.
"""

import asyncio
import os
import threading
from contextlib import suppress
from functools import lru_cache
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sugang.config import get_settings
from sugang.errors import HashingBusy


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


# Hashing threads run at a lower scheduling priority than the event loop of their process:
# when logins keep every core busy (a flood of guesses), requests are still read, answered
# and refused at once, and hashes take the time that is left (Linux: a thread's nice value).
_HASHING_NICENESS = 10  # added to the process's own
_niced = threading.local()


def _yield_to_the_event_loop() -> None:
    if getattr(_niced, "done", False):
        return
    _niced.done = True
    with suppress(OSError, AttributeError):
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread) + _HASHING_NICENESS
        os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness))


# Each hash holds its memory cost while it runs; more at once than there are cores only adds
# memory (40 at once, anyio's default, took workers past 400 MB in a 5,000-student login).
_HASHING_AT_ONCE = 4
# Logins the throttle marks as suspect (from an address or for an account and address that
# failed lately: a flood of guesses) hash one at a time per worker, so that students logging
# in cleanly keep most of the cores.
_SUSPECTS_AT_ONCE = 1
_limiters: "WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, anyio.CapacityLimiter]]" = (
    WeakKeyDictionary()
)


def _slots(name: str, size: int) -> anyio.CapacityLimiter:
    """One limiter per event loop (a limiter belongs to the loop it was made in)."""
    limiters = _limiters.setdefault(asyncio.get_running_loop(), {})
    if name not in limiters:
        limiters[name] = anyio.CapacityLimiter(size)
    return limiters[name]


def _place_in_queue(
    queue_limit: int | None, name: str = "hashing", size: int = _HASHING_AT_ONCE
) -> anyio.CapacityLimiter:
    """The slots, unless `queue_limit` logins already wait for one: then 503 with Retry-After
    (a flood of logins waits no longer than that queue, and takes no more memory)."""
    slots = _slots(name, size)
    if queue_limit is not None and slots.statistics().tasks_waiting >= queue_limit:
        raise HashingBusy(retry_after=1)
    return slots


async def hash_password(password: str, queue_limit: int | None = None) -> str:
    def hash_it() -> str:
        _yield_to_the_event_loop()
        return hash_password_sync(password)

    slots = _place_in_queue(queue_limit)
    return await anyio.to_thread.run_sync(hash_it, limiter=slots)


async def verify_password(
    password_hash: str | None,
    password: str,
    queue_limit: int | None = None,
    *,
    suspect: bool = False,
) -> bool:
    def verify() -> bool:
        _yield_to_the_event_loop()
        try:
            hasher = _hasher()
            return hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    if not suspect:
        return await anyio.to_thread.run_sync(verify, limiter=_place_in_queue(queue_limit))
    suspects_limit = None if queue_limit is None else max(1, queue_limit // 4)
    async with _place_in_queue(suspects_limit, "suspects", _SUSPECTS_AT_ONCE):
        return await anyio.to_thread.run_sync(verify, limiter=_place_in_queue(queue_limit))


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
