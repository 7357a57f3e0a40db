"""Login throttling: failed logins are counted per account and address, per account, and per
client address. A login over the first two is refused (429 with Retry-After) before its
password is hashed, so a flood of guesses costs the service next to nothing.

- The account-and-address bucket is the backoff a student who mistypes meets: a few tries,
  then one every so often. It empties itself again: there is no permanent lockout.
- The account bucket bounds guessing one account from many addresses. It refuses only an
  address that has already failed for that account, so that a flood against a student's
  number, from wherever, never refuses the student on a phone that has not failed (a botnet
  gets one guess per address per backoff period: what bounds it then is its size).
- The address bucket refuses nothing (behind a campus NAT are thousands of students, whose
  typos alone would empty it): an address that failed lately is a suspect, and its logins
  are hashed one at a time per worker behind everyone else's (sugang.auth.passwords), which
  bounds spraying from one address to a trickle without shutting its other users out.

A successful login gives back the tokens it took (only failures count) and clears its
account-and-address backoff. The buckets are the rate limiter's (Redis, shared by every
replica; in-process without Redis); if Redis cannot be reached the throttle lets logins
through (the hashing queue still bounds the cost).
"""

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from sugang.buckets import Bucket, Limiter
from sugang.clock import Clock
from sugang.config import Settings
from sugang.errors import LoginThrottled


def network_of(client: str | None) -> str:
    """Whom the address buckets count: the address, or for IPv6 its /64 (one machine, or one
    home, holds a whole /64: counted address by address, it would have endless fresh ones)."""
    if not client:
        return "unknown"
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


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

        - The account-and-address bucket is charged before the password is checked (so that
          guesses sent at once cannot all pass a look at it); a success gives it back in full.
        - The account's bucket likewise, but only if this address already failed for this
          account; otherwise a failure is charged to it afterwards.
        - The address's bucket never refuses: behind one address (a campus NAT, a PC room)
          there are many students, and one of them guessing must not shut the others out. A
          failure is charged to it afterwards, and while it has failed lately every login from
          it is a suspect, hashed behind the others (sugang.auth.passwords)."""
        if not self.on:
            return Attempt()
        now = self.clock().timestamp()
        account = username.strip().lower()[:64]
        address = network_of(client)
        by_address = (f"login-ip:{address}", self.address)
        by_pair = (f"login-pair:{account}:{address}", self.pair)
        by_account = (f"login-account:{account}", self.account)
        address_failed = await self.limiter.tokens(*by_address, now) < self.address.burst
        pair_failed = await self.limiter.tokens(*by_pair, now) < self.pair.burst
        before = [by_pair, by_account] if pair_failed else [by_pair]
        after = [by_address] if pair_failed else [by_address, by_account]
        taken: list[tuple[str, Bucket]] = []
        for key, bucket in before:
            wait = await self.limiter.take(key, bucket, now)
            if wait > 0:
                await self._give_back(taken, now)  # a refusal costs nothing
                raise LoginThrottled(retry_after=max(1, round(wait + 0.5)))
            taken.append((key, bucket))
        return Attempt(tuple(taken), tuple(after), suspect=address_failed or pair_failed)

    async def failed(self, attempt: Attempt) -> None:
        """Count the failure: the tokens taken stay taken, and the other buckets lose one."""
        now = self.clock().timestamp()
        for key, bucket in attempt.on_failure:
            await self.limiter.take(key, bucket, now)

    async def succeeded(self, attempt: Attempt) -> None:
        """Give back what the login took; its account-and-address backoff starts afresh."""
        now = self.clock().timestamp()
        await self._give_back(attempt.taken, now)
        for key, bucket in attempt.taken:
            if key.startswith("login-pair:"):
                await self.limiter.take(key, bucket, now, cost=-float(bucket.burst))

    async def not_tried(self, attempt: Attempt) -> None:
        """The password was never checked (the hashing queue was full): nothing counts."""
        await self._give_back(attempt.taken, self.clock().timestamp())

    async def _give_back(self, taken: Sequence[tuple[str, Bucket]], now: float) -> None:
        for key, bucket in taken:
            await self.limiter.take(key, bucket, now, cost=-1.0)
