"""Who is calling: the principal of the bearer token, and the role checks handlers declare."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from sugang.auth.service import AuthService
from sugang.auth.tokens import Principal, Role, read_token
from sugang.errors import Forbidden, NotAuthenticated
from sugang.http.deps import ClockDep, SettingsDep, provided
from sugang.scope_keys import USER_ID

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

Auth = Annotated[AuthService, provided("auth")]


async def current_principal(
    request: Request,
    settings: SettingsDep,
    clock: ClockDep,
    token: Annotated[str | None, Depends(_bearer)],
) -> Principal:
    if not token:
        raise NotAuthenticated()
    principal = read_token(token, settings.secret_key.get_secret_value(), clock())
    if principal is None:
        raise NotAuthenticated()
    request.scope[USER_ID] = principal.user_id  # for the access log
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def _require(*roles: Role) -> object:
    async def check(principal: CurrentUser) -> Principal:
        if principal.role not in roles:
            raise Forbidden(required_role=list(roles))
        return principal

    return Depends(check)


CurrentStudent = Annotated[Principal, _require("student")]
Staff = Annotated[Principal, _require("professor", "admin")]
Admin = Annotated[Principal, _require("admin")]
