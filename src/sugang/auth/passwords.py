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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import lru_cache
from typing import TypeVar
from weakref import WeakKeyDictionary

import anyio
from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sugang.config import get_settings
from sugang.errors import HashingBusy

T = TypeVar("T")


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
# Logins the throttle marks as suspect (from an address or for an account and address that
# failed lately: a flood of guesses) hash one at a time per worker, so that students logging
# in cleanly keep most of the cores.
_SUSPECTS_AT_ONCE = 1
# Hashes run on threads of their own, at a lower scheduling priority than the event loop of
# their process (Linux: a thread's nice value): when logins keep every core busy (a flood of
# guesses), requests are still read, answered and refused at once, and hashes take the time
# that is left. (Not anyio's shared threads: what else runs there keeps its priority.)
_HASHING_NICENESS = 10  # added to the process's own
_limiters: "WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, anyio.CapacityLimiter]]" = (
    WeakKeyDictionary()
)


# A suspect's hash yields to everyone else's too: under a flood, the students logging in
# cleanly get the cores first, and the suspects what is left.
_SUSPECTS_NICENESS = 19


def _yield_to_the_event_loop(by: int = _HASHING_NICENESS) -> None:
    with suppress(OSError, AttributeError):
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread) + by
        os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness))


@lru_cache
def _hashing_threads(suspects: bool = False) -> ThreadPoolExecutor:
    if suspects:
        return ThreadPoolExecutor(
            _SUSPECTS_AT_ONCE,
            thread_name_prefix="argon2-suspects",
            initializer=_yield_to_the_event_loop,
            initargs=(_SUSPECTS_NICENESS,),
        )
    return ThreadPoolExecutor(
        _HASHING_AT_ONCE, thread_name_prefix="argon2", initializer=_yield_to_the_event_loop
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


def check_room(queue_limit: int, *, suspect: bool = False) -> None:
    """HashingBusy now if the queue this login would join is full: before it reads anything
    (a flood's logins turned away without a database round trip)."""
    if suspect:
        _place_in_queue(_suspects_limit(queue_limit), "suspects", _SUSPECTS_AT_ONCE)
    _place_in_queue(queue_limit)


def _suspects_limit(queue_limit: int) -> int:
    return max(1, queue_limit // 4)


async def _on_a_hashing_thread(
    work: Callable[[], T], slots: anyio.CapacityLimiter, *, suspect: bool = False
) -> T:
    async with slots:
        threads = _hashing_threads(suspect)
        return await asyncio.get_running_loop().run_in_executor(threads, work)


async def hash_password(password: str, queue_limit: int | None = None) -> str:
    slots = _place_in_queue(queue_limit)
    return await _on_a_hashing_thread(lambda: hash_password_sync(password), slots)


async def verify_password(
    password_hash: str | None,
    password: str,
    queue_limit: int | None = None,
    *,
    suspect: bool = False,
) -> bool:
    def verify() -> bool:
        try:
            hasher = _hasher()
            return hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    if not suspect:
        return await _on_a_hashing_thread(verify, _place_in_queue(queue_limit))
    suspects_limit = None if queue_limit is None else _suspects_limit(queue_limit)
    async with _place_in_queue(suspects_limit, "suspects", _SUSPECTS_AT_ONCE):
        return await _on_a_hashing_thread(verify, _place_in_queue(queue_limit), suspect=True)


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
