"""Login tokens: who the caller is and their role, signed by sugang.auth.signing."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sugang.auth import signing

Role = Literal["student", "professor", "admin"]
ROLES: tuple[Role, ...] = ("student", "professor", "admin")
AUDIENCE = "sugang"


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
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return signing.sign(claims, secret)


def read_token(token: str, secret: str, now: datetime) -> Principal | None:
    """The principal of a valid token unexpired at `now` (the service clock); else None."""
    claims = signing.verify(token, secret, AUDIENCE, ("sub", "exp", "role"))
    if claims is None:
        return None
    try:
        role, expires = claims["role"], int(claims["exp"])
        if role not in ROLES or expires <= now.timestamp():
            return None
        return Principal(int(claims["sub"]), str(claims.get("name", "")), role)
    except (ValueError, TypeError):
        return None
