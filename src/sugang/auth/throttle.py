"""Login throttling: failed logins are counted per client address, per account and address,
and per account; a login over any of those buckets is refused (429 with Retry-After) before
its password is hashed, so a flood of guesses costs the service next to nothing.

- The address bucket bounds password spraying from one address across many accounts.
- The account-and-address bucket is the backoff a student who mistypes meets: a few tries,
  then one every so often. It empties itself again: there is no permanent lockout.
- The account bucket bounds guessing one account from many addresses. It is consulted only
  for an address that has already failed for that account, so that a flood against a
  student's number, from wherever, never refuses the student on a phone that has not failed.

A successful login gives back the tokens it took (only failures count) and clears its
account-and-address backoff. The buckets are the
rate limiter's (Redis, shared by every replica; in-process without Redis); if Redis cannot be
reached the throttle lets logins through (the hashing queue still bounds the cost).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sugang.buckets import Bucket, Limiter
from sugang.clock import Clock
from sugang.config import Settings
from sugang.errors import LoginThrottled


@dataclass(frozen=True)
class Attempt:
    """The buckets a login took a token from before its password was checked (given back if
    it succeeds), and those a failure takes from afterwards; `suspect` if its address, or its
    account from this address, failed lately (its hash then waits behind the others:
    sugang.auth.passwords)."""

    taken: tuple[tuple[str, Bucket], ...] = ()
    on_failure: tuple[tuple[str, Bucket], ...] = ()
    suspect: bool = False


class LoginThrottle:
    def __init__(self, settings: Settings, limiter: Limiter, clock: Clock) -> None:
        self.settings = settings
        self.limiter = limiter
        self.clock = clock
        per_minute = 60.0
        self.address = Bucket(
            settings.login_address_failures_per_minute / per_minute,
            settings.login_address_failures_burst,
        )
        self.pair = Bucket(
            settings.login_pair_failures_per_minute / per_minute,
            settings.login_pair_failures_burst,
        )
        self.account = Bucket(
            settings.login_account_failures_per_minute / per_minute,
            settings.login_account_failures_burst,
        )

    @property
    def on(self) -> bool:
        return self.settings.rate_limits_on

    async def attempt(self, username: str, client: str | None) -> Attempt:
        """Refuse (LOGIN_THROTTLED) or let the login be checked.

        A bucket that has not lost a token (no failure lately) is only charged if the login
        fails: logins in flight from a clean address are no failures (a PC room logging in at
        once is neither throttled nor suspect). A bucket that has is charged before the
        password is checked, so that a hundred guesses sent at once from an address that
        failed cannot all pass a look at it; a success gives the token back."""
        if not self.on:
            return Attempt()
        now = self.clock().timestamp()
        account = username.strip().lower()[:64]
        address = client or "unknown"
        scopes = [
            (f"login-ip:{address}", self.address),
            (f"login-pair:{account}:{address}", self.pair),
        ]
        failed_lately = [
            await self.limiter.tokens(key, bucket, now) < bucket.burst for key, bucket in scopes
        ]
        account_scope = (f"login-account:{account}", self.account)
        pair_failed = failed_lately[1]
        before = [scope for scope, failed in zip(scopes, failed_lately, strict=True) if failed]
        after = [scope for scope, failed in zip(scopes, failed_lately, strict=True) if not failed]
        (before if pair_failed else after).append(account_scope)
        taken: list[tuple[str, Bucket]] = []
        for key, bucket in before:
            wait = await self.limiter.take(key, bucket, now)
            if wait > 0:
                await self._give_back(taken, now)  # a refusal costs nothing
                raise LoginThrottled(retry_after=max(1, round(wait + 0.5)))
            taken.append((key, bucket))
        return Attempt(tuple(taken), tuple(after), suspect=any(failed_lately))

    async def failed(self, attempt: Attempt) -> None:
        """Count the failure: the tokens taken stay taken, and the other buckets lose one."""
        now = self.clock().timestamp()
        for key, bucket in attempt.on_failure:
            await self.limiter.take(key, bucket, now)

    async def succeeded(self, attempt: Attempt) -> None:
        """Give back what the login took; its account-and-address backoff starts afresh."""
        now = self.clock().timestamp()
        await self._give_back(attempt.taken, now)
        for key, bucket in (*attempt.taken, *attempt.on_failure):
            if key.startswith("login-pair:"):
                await self.limiter.take(key, bucket, now, cost=-float(bucket.burst))

    async def not_tried(self, attempt: Attempt) -> None:
        """The password was never checked (the hashing queue was full): nothing counts."""
        await self._give_back(attempt.taken, self.clock().timestamp())

    async def _give_back(self, taken: Sequence[tuple[str, Bucket]], now: float) -> None:
        for key, bucket in taken:
            await self.limiter.take(key, bucket, now, cost=-1.0)
