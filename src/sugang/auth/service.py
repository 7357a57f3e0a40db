"""Logging in, the caller's own profile, and staff accounts."""

from dataclasses import dataclass
from datetime import timedelta

from sugang.auth import store
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

    async def login(self, username: str, password: str) -> IssuedToken:
        """Check the password (no connection is held during the ~30 ms of hashing) and issue
        a bearer token; a hash made with older parameters is replaced on the way."""
        async with self.db.transaction(write=False) as conn:
            user = await store.find_by_name(conn, username.strip())
        ok = await verify_password(user.password_hash if user else None, password)
        if user is None or not ok:
            raise BadCredentials()
        if needs_rehash(user.password_hash):
            rehashed = await hash_password(password)
            async with self.db.transaction() as conn:
                await store.replace_hash(conn, user.id, rehashed)
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

    async def create_staff(self, data: StaffIn) -> StaffOut:
        """A professor or registrar (admin) account."""
        user = await self.db.run(
            lambda conn: store.create_user(
                conn,
                username=data.username,
                name=data.name,
                role=data.role,
                password=data.password,
                clock=self.clock,
            )
        )
        return StaffOut(id=user.id, username=user.username, name=user.name, role=user.role)
