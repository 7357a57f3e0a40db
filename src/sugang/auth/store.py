"""Users in the database: finding one to log in, creating one, replacing a password hash."""

from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.auth.models import User
from sugang.auth.passwords import hash_password
from sugang.auth.tokens import Role
from sugang.clock import Clock
from sugang.errors import Conflict

_FIND_USER = text(
    "SELECT id, username, name, role, password_hash, token_version, disabled"
    " FROM users WHERE username = :u"
)
_USER_BY_ID = text(
    "SELECT id, username, name, role, password_hash, token_version, disabled"
    " FROM users WHERE id = :id"
)
_REHASH = text("UPDATE users SET password_hash = :hash WHERE id = :id")
_UPGRADE = text("UPDATE users SET password_hash = :hash WHERE id = :id AND password_hash = :old")
_ME = text(
    """
    SELECT u.id, u.username, u.name, u.role, s.year, s.max_credits, d.code AS department_code
    FROM users u
    LEFT JOIN students s ON s.id = u.id
    LEFT JOIN departments d ON d.id = s.department_id
    WHERE u.id = :user_id
    """
)


async def find_by_name(conn: AsyncConnection, username: str) -> Any:
    return (await conn.execute(_FIND_USER, {"u": username})).first()


async def find_by_id(conn: AsyncConnection, user_id: int) -> Any:
    return (await conn.execute(_USER_BY_ID, {"id": user_id})).first()


async def upgrade_hash(conn: AsyncConnection, user_id: int, old: str, new: str) -> None:
    """The same password hashed at a higher cost; nothing if the password changed meanwhile
    (a reset committed while the login was hashing must not be undone)."""
    await conn.execute(_UPGRADE, {"id": user_id, "old": old, "hash": new})


async def replace_hash(conn: AsyncConnection, user_id: int, password_hash: str) -> None:
    await conn.execute(_REHASH, {"id": user_id, "hash": password_hash})


async def profile(conn: AsyncConnection, user_id: int) -> Any:
    """The user, with their year, credit limit and department if they are a student."""
    return (await conn.execute(_ME, {"user_id": user_id})).first()


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
