"""Logging in and creating users."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.auth.models import User
from sugang.auth.passwords import hash_password, needs_rehash, verify_password
from sugang.auth.tokens import Principal, Role, issue_token
from sugang.clock import Clock
from sugang.db import Database
from sugang.errors import BadCredentials, Conflict


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    principal: Principal
    name: str


_REHASH = text("UPDATE users SET password_hash = :hash WHERE id = :id")
_FIND_USER = text("SELECT id, username, name, role, password_hash FROM users WHERE username = :u")


async def authenticate(
    db: Database,
    username: str,
    password: str,
    *,
    secret: str,
    clock: Clock,
    lifetime: timedelta,
) -> IssuedToken:
    """Check the password (no connection is held during the ~30 ms of hashing) and issue a
    bearer token; a hash made with older parameters is replaced on the way."""
    async with db.transaction(write=False) as conn:
        user = (await conn.execute(_FIND_USER, {"u": username.strip()})).first()
    ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not ok:
        raise BadCredentials()
    if needs_rehash(user.password_hash):
        rehashed = await hash_password(password)
        async with db.transaction() as conn:
            await conn.execute(_REHASH, {"id": user.id, "hash": rehashed})
    principal = Principal(user.id, user.username, user.role)
    token = issue_token(principal, secret, clock(), lifetime)
    return IssuedToken(token, int(lifetime.total_seconds()), principal, user.name)


async def create_user(
    conn: AsyncConnection,
    *,
    username: str,
    name: str,
    role: Role,
    password: str,
    clock: Clock,
) -> User:
    exists = await conn.scalar(select(User.id).where(User.username == username))
    if exists is not None:
        raise Conflict(
            reason=f"user name {username!r} is taken",
            reason_ko=f"이미 사용 중인 아이디입니다: {username}",
        )
    user_id = await conn.scalar(
        insert(User)
        .values(
            username=username,
            name=name,
            role=role,
            password_hash=await hash_password(password),
            created_at=clock(),
        )
        .returning(User.id)
    )
    assert user_id is not None
    return User(id=user_id, username=username, name=name, role=role)
