"""Signed, expiring tokens (JWT, HS256): the one place where they are signed and verified.

Login tokens, queue tickets and admission passes each carry their own audience, so none of
them can stand in for another. Expiry is the caller's to judge, on the service's clock (tests
move it), so it is not checked here.
"""

from collections.abc import Callable, Mapping
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Any

import jwt

ALGORITHM = "HS256"


def sign(claims: Mapping[str, object], secret: str) -> str:
    return jwt.encode(dict(claims), secret, algorithm=ALGORITHM)


def verify(
    token: str, secret: str, audience: str, required: tuple[str, ...]
) -> Mapping[str, Any] | None:
    """The token's claims if it was signed with `secret` for `audience` and carries every
    `required` claim; else None."""
    return _verifier(audience, required)(token, secret)


Verifier = Callable[[str, str], Mapping[str, Any] | None]


@cache
def _verifier(audience: str, required: tuple[str, ...]) -> Verifier:
    """One cache per kind of token, so that junk of one kind (a flood of made-up bearer
    tokens) cannot push out the tickets and passes of the students waiting."""

    # A student sends the same token with every request of the rush (a login token, a ticket
    # while waiting, a pass while enrolling): its signature is checked once per process
    # (PyJWT's decode was a tenth of a worker's CPU).
    @lru_cache(maxsize=20_000)
    def verify_once(token: str, secret: str) -> Mapping[str, Any] | None:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=audience,
                options={"require": list(required), "verify_exp": False, "verify_iat": False},
            )
        except (jwt.InvalidTokenError, ValueError, TypeError):
            return None
        return MappingProxyType(claims)  # shared by every caller: read-only

    return verify_once
