"""FastAPI dependencies shared by every domain's handlers, as Annotated aliases.

They are all `async def` although none awaits: FastAPI runs a plain `def` dependency in a
worker thread, and those thread hops were a fifth of a request's CPU at the rush."""

from typing import Annotated

from fastapi import Depends, Header, Path, Request
from fastapi.security import OAuth2PasswordBearer

from sugang.auth.tokens import Principal, Role, read_token
from sugang.errors import Forbidden, NotAuthenticated
from sugang.services import Services

MAX_ID = 2**31 - 1

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def current_principal(
    services: ServicesDep, token: Annotated[str | None, Depends(_bearer)]
) -> Principal:
    if not token:
        raise NotAuthenticated()
    principal = read_token(token, services.settings.secret_key.get_secret_value(), services.clock())
    if principal is None:
        raise NotAuthenticated()
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


async def preferred_language(accept_language: Annotated[str | None, Header()] = None) -> str:
    return language_of(accept_language)


def language_of(accept_language: str | None) -> str:
    """Korean unless the client's first preference is English."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "ko"


Language = Annotated[str, Depends(preferred_language)]

SectionIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="section id")]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
