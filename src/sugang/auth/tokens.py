"""Signed bearer tokens (JWT, HS256) that carry who the caller is and their role."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

import jwt

Role = Literal["student", "professor", "admin"]
ROLES: tuple[Role, ...] = ("student", "professor", "admin")
_ALGORITHM = "HS256"
_AUDIENCE = "sugang"


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role


def issue_token(principal: Principal, secret: str, now: datetime, lifetime: timedelta) -> str:
    claims = {
        "sub": str(principal.user_id),
        "name": principal.username,
        "role": principal.role,
        "aud": _AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def read_token(token: str, secret: str, now: datetime) -> Principal | None:
    """The principal of a valid token unexpired at `now` (the service clock); else None."""
    verified = _verify(token, secret)
    if verified is None or verified[1] <= now.timestamp():
        return None
    return verified[0]


# A student sends the same token with every request of the rush: its signature is checked
# once per process (PyJWT's decode was a tenth of a worker's CPU), its expiry every time.
@lru_cache(maxsize=20_000)
def _verify(token: str, secret: str) -> tuple[Principal, int] | None:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["sub", "exp", "role"], "verify_exp": False, "verify_iat": False},
        )
        role = claims["role"]
        if role not in ROLES:
            return None
        return Principal(int(claims["sub"]), str(claims.get("name", "")), role), int(claims["exp"])
    except (jwt.InvalidTokenError, ValueError, KeyError, TypeError):
        return None
