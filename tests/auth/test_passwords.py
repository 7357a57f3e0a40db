"""Hashing runs in threads that yield to the event loop, and a full queue says so."""

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any

from sugang.auth import passwords
from sugang.errors import HashingBusy


async def arriving_one_by_one(logins: list[Coroutine[Any, Any, bool]]) -> list[object]:
    """Each login starts (and takes its place in a queue) before the next arrives."""
    tasks = []
    for login in logins:
        tasks.append(asyncio.create_task(login))
        await asyncio.sleep(0.001)
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_hashing_threads_run_at_a_lower_priority_than_the_event_loop() -> None:
    loop = asyncio.get_running_loop()
    hashing_thread = await loop.run_in_executor(passwords._hashing_threads(), niceness)
    other_thread = await asyncio.to_thread(niceness)  # anyio's and asyncio's keep theirs

    assert hashing_thread > niceness() == other_thread


async def test_past_the_queue_limit_a_verification_is_refused_at_once() -> None:
    stored = passwords.hash_password_sync("a-password-1")
    answers = await arriving_one_by_one(
        [passwords.verify_password(stored, "a-password-1", queue_limit=2) for _ in range(12)]
    )
    refused = [a for a in answers if isinstance(a, HashingBusy)]
    assert refused and all(a is True or isinstance(a, HashingBusy) for a in answers)


async def test_suspects_wait_in_a_smaller_queue_of_their_own() -> None:
    stored = passwords.hash_password_sync("a-password-1")
    clean = [passwords.verify_password(stored, "a-password-1", queue_limit=8) for _ in range(8)]
    suspects = [
        passwords.verify_password(stored, "guess", queue_limit=8, suspect=True) for _ in range(8)
    ]
    answers = await arriving_one_by_one([*clean, *suspects])
    assert answers[:8] == [True] * 8  # the students logging in cleanly all got an answer
    assert any(isinstance(a, HashingBusy) for a in answers[8:])  # 2 of the suspects wait
