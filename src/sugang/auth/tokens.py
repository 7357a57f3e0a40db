"""Login tokens: who the caller is and their role, signed by sugang.auth.signing."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sugang.auth import signing

Role = Literal["student", "professor", "admin"]
ROLES: tuple[Role, ...] = ("student", "professor", "admin")
AUDIENCE = "sugang"
CLOCK_SKEW_SECONDS = 60  # a token issued (or valid from) further in the future is refused


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role
    token_version: int = 0  # see sugang.auth.revocations


def issue_token(principal: Principal, secret: str, now: datetime, lifetime: timedelta) -> str:
    claims = {
        "sub": str(principal.user_id),
        "name": principal.username,
        "role": principal.role,
        "ver": principal.token_version,
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
        starts = max(int(claims.get("iat", 0)), int(claims.get("nbf", 0)))
        if role not in ROLES or expires <= now.timestamp():
            return None
        if starts > now.timestamp() + CLOCK_SKEW_SECONDS:
            return None
        subject = str(claims["sub"])
        if not (subject.isascii() and subject.isdigit()):  # "1.5", "-1", "١" or junk
            return None
        version = claims.get("ver", 0)
        if type(version) is not int:
            return None
        return Principal(int(subject), str(claims.get("name", "")), role, version)
    except (ValueError, TypeError):
        return None
