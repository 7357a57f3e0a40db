"""Password hashing with argon2id, run in a worker thread so the event loop keeps serving.

Parameters: OWASP's argon2id baseline (19 MiB, t=2, p=1). Hashes carry their parameters, so
changing these later only affects new hashes; `needs_rehash` lets login upgrade old ones.
"""

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verified against when the user does not exist, so both answers take the same time.
_DUMMY_HASH = HASHER.hash("sugang-no-such-user")


def hash_password_sync(password: str) -> str:
    return HASHER.hash(password)


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify)
