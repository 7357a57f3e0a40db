"""POST /api/v1/auth/token (OAuth2 password form) and GET /api/v1/me."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from sugang.auth.deps import Auth, CurrentUser
from sugang.auth.schemas import MeOut, PasswordChangeIn, TokenOut
from sugang.auth.service import IssuedToken

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenOut)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], auth: Auth, request: Request
) -> TokenOut:
    """Log in with the student number (or staff user name) and password."""
    issued = await auth.login(form.username, form.password, _client(request))
    return _token_out(issued)


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _token_out(issued: IssuedToken) -> TokenOut:
    return TokenOut(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        user_id=issued.principal.user_id,
        username=issued.principal.username,
        name=issued.name,
        role=issued.principal.role,
    )


@router.get("/me", response_model=MeOut)
async def me(principal: CurrentUser, auth: Auth) -> MeOut:
    return await auth.me(principal.user_id)


@router.put("/me/password", response_model=TokenOut)
async def change_password(
    body: PasswordChangeIn, principal: CurrentUser, auth: Auth, request: Request
) -> TokenOut:
    """Change your own password. Every other session (phone, PC) is logged out; the answer
    carries a new token for this one."""
    issued = await auth.change_password(
        principal, body.current_password, body.new_password, _client(request)
    )
    return _token_out(issued)
