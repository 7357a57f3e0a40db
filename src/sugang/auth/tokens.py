"""Signed bearer tokens (JWT, HS256) that carry who the caller is and their role."""

from dataclasses import dataclass
from datetime import datetime, timedelta
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
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["sub", "exp", "role"], "verify_exp": False, "verify_iat": False},
        )
        if int(claims["exp"]) <= now.timestamp():
            return None
        role = claims["role"]
        if role not in ROLES:
            return None
        return Principal(int(claims["sub"]), str(claims.get("name", "")), role)
    except (jwt.InvalidTokenError, ValueError, KeyError, TypeError):
        return None
