"""Logging in, the caller's own profile, and staff accounts."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang import audit
from sugang.auth import store
from sugang.auth.models import User
from sugang.auth.passwords import check_room, hash_password, needs_rehash, verify_password
from sugang.auth.revocations import revoke
from sugang.auth.schemas import MeOut, StaffIn, StaffOut, UserOut, UserPatch
from sugang.auth.throttle import Attempt, LoginThrottle
from sugang.auth.tokens import Principal, issue_token
from sugang.clock import Clock
from sugang.config import Settings
from sugang.db import Database
from sugang.errors import (
    AccountDisabled,
    BadCredentials,
    Conflict,
    CurrentPasswordWrong,
    HashingBusy,
    NotAuthenticated,
    NotFound,
)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    principal: Principal
    name: str


class AuthService:
    def __init__(
        self, db: Database, clock: Clock, settings: Settings, throttle: LoginThrottle
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.throttle = throttle

    async def login(self, username: str, password: str, client: str | None = None) -> IssuedToken:
        """Check the password (no connection is held during the ~20 ms of hashing) and issue
        a bearer token; a hash made with weaker parameters is replaced on the way. Every
        attempt the throttle lets through is audited, with the client's address (a throttled
        one is refused before anything is read or hashed)."""
        attempt = await self._attempt(username, client)
        async with self.db.transaction(write=False) as conn:
            user = await store.find_by_name(conn, username.strip())
        ok = await self._verify(attempt, user.password_hash if user else None, password)
        rehashed = (
            await hash_password(password)
            if user and ok and needs_rehash(user.password_hash)
            else None
        )
        refusal = "disabled" if user and ok and user.disabled else None
        async with self.db.transaction() as conn:
            await audit.record(
                conn,
                self.clock(),
                "login",
                outcome="ok" if user and ok and not refusal else (refusal or "refused"),
                actor_id=user.id if user else None,
                detail={"username": username.strip()[:64], "client": client},
            )
            if user is not None and rehashed is not None:
                await store.upgrade_hash(conn, user.id, user.password_hash, rehashed)
        if user is None or not ok:
            raise BadCredentials()
        if refusal:  # told only to whoever knows the password
            raise AccountDisabled()
        return self._issue(
            Principal(user.id, user.username, user.role, user.token_version), user.name
        )

    async def _attempt(self, username: str, client: str | None) -> Attempt:
        """The throttle's leave to check a password, and room in the hashing queue for it
        (LOGIN_THROTTLED or LOGIN_BUSY before anything is read)."""
        attempt = await self.throttle.attempt(username, client)
        try:
            check_room(self.settings.max_hash_queue, suspect=attempt.suspect)
        except HashingBusy:
            await self.throttle.not_tried(attempt)  # the service's refusal, not a failure
            raise
        return attempt

    async def _verify(self, attempt: Attempt, password_hash: str | None, password: str) -> bool:
        """Whether the password matches (False without a hash), told to the throttle."""
        try:
            ok = await verify_password(
                password_hash, password, self.settings.max_hash_queue, suspect=attempt.suspect
            )
        except HashingBusy:
            await self.throttle.not_tried(attempt)
            raise
        await (self.throttle.succeeded if ok else self.throttle.failed)(attempt)
        return ok

    def _issue(self, principal: Principal, name: str) -> IssuedToken:
        lifetime = timedelta(minutes=self.settings.access_token_minutes)
        secret = self.settings.secret_key.get_secret_value()
        token = issue_token(principal, secret, self.clock(), lifetime)
        return IssuedToken(token, int(lifetime.total_seconds()), principal, name)

    async def change_password(
        self, principal: Principal, current: str, new: str, client: str | None = None
    ) -> IssuedToken:
        """The caller's own password: every token they hold is void (other phones and
        browsers are logged out); a new one is issued for this device."""
        async with self.db.transaction(write=False) as conn:
            user = await store.find_by_id(conn, principal.user_id)
        if user is None:
            raise NotAuthenticated()
        # A stolen token must not make this a faster way to guess the password than logging in
        attempt = await self._attempt(user.username, client)
        if not await self._verify(attempt, user.password_hash, current):
            async with self.db.transaction() as conn:
                await audit.record(
                    conn,
                    self.clock(),
                    "change_password",
                    outcome="refused",
                    actor_id=user.id,
                    detail={"client": client},
                )
            raise CurrentPasswordWrong()
        new_hash = await hash_password(new, self.settings.max_hash_queue)

        async def change(conn: AsyncConnection) -> int:
            await store.replace_hash(conn, user.id, new_hash)
            version = await revoke(conn, user.id, self.clock())
            await audit.record(
                conn,
                self.clock(),
                "change_password",
                actor_id=user.id,
                detail={"client": client},
            )
            return version

        version = await self.db.run(change)
        return self._issue(Principal(user.id, user.username, user.role, version), user.name)

    async def update_user(self, user_id: int, patch: UserPatch, actor_id: int | None) -> UserOut:
        """A registrar's edit of an account, audited with what changed (never the password).
        A student's role is fixed; a registrar cannot demote or disable themselves (someone
        must be left to undo it)."""
        new_hash = await hash_password(patch.password) if patch.password is not None else None

        async def edit(conn: AsyncConnection) -> UserOut:
            user = await store.find_by_id(conn, user_id)
            if user is None:
                raise NotFound(what="user", what_ko="사용자", user_id=user_id)
            if patch.role is not None and patch.role != user.role and user.role == "student":
                raise Conflict(
                    reason="a student's role cannot change; create a staff account instead",
                    reason_ko="학생 계정의 역할은 바꿀 수 없습니다. 교직원 계정을 새로 만드세요",
                )
            if user_id == actor_id and (
                (patch.role is not None and patch.role != user.role) or patch.disabled
            ):
                raise Conflict(
                    reason="you cannot demote or disable your own account",
                    reason_ko="자신의 계정은 권한을 낮추거나 중지할 수 없습니다",
                )
            values: dict[str, object] = {}
            if patch.name is not None:
                values["name"] = patch.name
            if patch.role is not None:
                values["role"] = patch.role
            if patch.disabled is not None:
                values["disabled"] = patch.disabled
            if new_hash is not None:
                values["password_hash"] = new_hash
            if values:
                await conn.execute(update(User).where(User.id == user_id).values(**values))
            role_changed = patch.role is not None and patch.role != user.role
            if role_changed or patch.disabled or new_hash is not None:
                await revoke(conn, user_id, self.clock())
            await audit.record(
                conn,
                self.clock(),
                "update_user",
                actor_id=actor_id,
                detail={
                    "user_id": user_id,
                    "username": user.username,
                    "changes": patch.model_dump(exclude_unset=True, exclude={"password"}),
                    "password_reset": new_hash is not None,
                    "role_before": user.role,
                },
            )
            after = await store.find_by_id(conn, user_id)
            return UserOut(
                id=after.id,
                username=after.username,
                name=after.name,
                role=after.role,
                disabled=bool(after.disabled),
            )

        return await self.db.run(edit)

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
