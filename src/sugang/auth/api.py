"""POST /api/v1/auth/token (OAuth2 password form) and GET /api/v1/me."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy import text

from sugang.auth.service import authenticate
from sugang.deps import CurrentUser, ServicesDep
from sugang.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user_id: int
    username: str
    name: str
    role: str


class MeOut(BaseModel):
    id: int
    username: str
    name: str
    role: str
    year: int | None = None
    max_credits: int | None = None
    department_code: str | None = None


@router.post("/auth/token", response_model=TokenOut)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], services: ServicesDep
) -> TokenOut:
    """Log in with the student number (or staff user name) and password."""
    settings = services.settings
    issued = await authenticate(
        services.db,
        form.username,
        form.password,
        secret=settings.secret_key.get_secret_value(),
        clock=services.clock,
        lifetime=timedelta(minutes=settings.access_token_minutes),
    )
    return TokenOut(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        user_id=issued.principal.user_id,
        username=issued.principal.username,
        name=issued.name,
        role=issued.principal.role,
    )


_ME = text(
    """
    SELECT u.id, u.username, u.name, u.role, s.year, s.max_credits, d.code AS department_code
    FROM users u
    LEFT JOIN students s ON s.id = u.id
    LEFT JOIN departments d ON d.id = s.department_id
    WHERE u.id = :user_id
    """
)


@router.get("/me", response_model=MeOut)
async def me(principal: CurrentUser, services: ServicesDep) -> MeOut:
    async with services.db.transaction(write=False) as conn:
        row = (await conn.execute(_ME, {"user_id": principal.user_id})).first()
    if row is None:
        raise NotFound(what="user", what_ko="사용자")
    return MeOut(**row._mapping)
