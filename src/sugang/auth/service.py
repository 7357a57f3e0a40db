"""Logging in, the caller's own profile, and staff accounts."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from sugang import audit
from sugang.auth import store
from sugang.auth.models import User
from sugang.auth.passwords import hash_password, needs_rehash, verify_password
from sugang.auth.schemas import MeOut, StaffIn, StaffOut
from sugang.auth.tokens import Principal, issue_token
from sugang.clock import Clock
from sugang.config import Settings
from sugang.db import Database
from sugang.errors import BadCredentials, NotFound


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    principal: Principal
    name: str


class AuthService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    async def login(self, username: str, password: str, client: str | None = None) -> IssuedToken:
        """Check the password (no connection is held during the ~30 ms of hashing) and issue
        a bearer token; a hash made with weaker parameters is replaced on the way. Every
        attempt is audited, with the client's address."""
        async with self.db.transaction(write=False) as conn:
            user = await store.find_by_name(conn, username.strip())
        ok = await verify_password(user.password_hash if user else None, password)
        rehashed = (
            await hash_password(password)
            if user and ok and needs_rehash(user.password_hash)
            else None
        )
        async with self.db.transaction() as conn:
            await audit.record(
                conn,
                self.clock(),
                "login",
                outcome="ok" if user and ok else "refused",
                actor_id=user.id if user else None,
                detail={"username": username.strip()[:64], "client": client},
            )
            if user is not None and rehashed is not None:
                await store.replace_hash(conn, user.id, rehashed)
        if user is None or not ok:
            raise BadCredentials()
        principal = Principal(user.id, user.username, user.role)
        lifetime = timedelta(minutes=self.settings.access_token_minutes)
        secret = self.settings.secret_key.get_secret_value()
        token = issue_token(principal, secret, self.clock(), lifetime)
        return IssuedToken(token, int(lifetime.total_seconds()), principal, user.name)

    async def me(self, user_id: int) -> MeOut:
        async with self.db.transaction(write=False) as conn:
            row = await store.profile(conn, user_id)
        if row is None:
            raise NotFound(what="user", what_ko="사용자")
        return MeOut(**row._mapping)

    async def create_staff(self, data: StaffIn, actor_id: int) -> StaffOut:
        """A professor or registrar (admin) account, audited with who made it."""

        async def create(conn: AsyncConnection) -> User:
            user = await store.create_user(
                conn,
                username=data.username,
                name=data.name,
                role=data.role,
                password=data.password,
                clock=self.clock,
            )
            await audit.record(
                conn,
                self.clock(),
                "create_staff",
                actor_id=actor_id,
                detail={"user_id": user.id, "username": user.username, "role": user.role},
            )
            return user

        user = await self.db.run(create)
        return StaffOut(id=user.id, username=user.username, name=user.name, role=user.role)
