"""Who is calling: the principal of the bearer token, and the role checks handlers declare."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from sugang.auth.revocations import Revocations
from sugang.auth.service import AuthService
from sugang.auth.tokens import Principal, Role, read_token
from sugang.buckets import Bucket, Limiter
from sugang.clock import Clock
from sugang.config import Settings
from sugang.errors import Forbidden, NotAuthenticated
from sugang.http.deps import ClockDep, SettingsDep, provided
from sugang.http.ratelimit import over_cap
from sugang.scope_keys import USER_ID

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

Auth = Annotated[AuthService, provided("auth")]
RevocationsDep = Annotated[Revocations, provided("revocations")]


async def current_principal(
    request: Request,
    settings: SettingsDep,
    clock: ClockDep,
    revocations: RevocationsDep,
    token: Annotated[str | None, Depends(_bearer)],
) -> Principal:
    if not token:
        raise NotAuthenticated()
    principal = read_token(token, settings.secret_key.get_secret_value(), clock())
    if principal is None:
        raise NotAuthenticated()
    if not await revocations.is_current(principal.user_id, principal.token_version):
        raise NotAuthenticated()
    request.scope[USER_ID] = principal.user_id  # for the access log
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


async def principal_of(
    request: Request, settings: Settings, clock: Clock, revocations: Revocations
) -> Principal:
    """`current_principal` for a request FastAPI did not route (the enroll shortcut)."""
    token = await _bearer(request)
    return await current_principal(request, settings, clock, revocations, token)


def require_role(principal: Principal, *roles: Role) -> Principal:
    if principal.role not in roles:
        raise Forbidden(required_role=list(roles))
    return principal


def _require(*roles: Role) -> object:
    async def check(principal: CurrentUser) -> Principal:
        return require_role(principal, *roles)

    return Depends(check)


CurrentStudent = Annotated[Principal, _require("student")]
Staff = Annotated[Principal, _require("professor", "admin")]
Admin = Annotated[Principal, _require("admin")]


def per_student_cap(name: str, bucket_of: Callable[[Settings], Bucket]) -> Any:
    """A dependency that lets a student call the route at the bucket's rate (when the rate
    limits are on): RATE_LIMITED past it."""

    async def cap(
        principal: CurrentUser,
        settings: SettingsDep,
        clock: ClockDep,
        limiter: Annotated[Limiter, provided("rate_limiter")],
    ) -> None:
        if settings.rate_limits_on:
            key = f"{name}:{principal.user_id}"
            await over_cap(limiter, key, bucket_of(settings), clock().timestamp())

    cap.__name__ = f"cap_{name}"
    return Depends(cap)
