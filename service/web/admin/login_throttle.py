"""The admin sign-in throttle: per (account, client), and per client across accounts.

A lock on the account itself would let anyone lock the admin out by typing wrong passwords,
so nothing here is per account alone:

- an (account, client) pair gets ``ADMIN_MAX_FAILED_LOGINS`` wrong passwords per
  ``ADMIN_LOCKOUT_MINUTES`` (5 per 15 minutes: a burst of 5, then one every 3 minutes, GCRA);
  then that client is refused for that account (429) until its budget refills, while the
  right password from any other client still signs in;
- a client may fail on ``CLIENT_ACCOUNTS`` different accounts per period: password spraying
  (one or two guesses at many accounts) is refused from the next new account on.

Only failures count (a refused attempt does not verify a password, so argon2's cost is never
paid for it). Budgets live in the web limiter (Redis when the broker is, so every web process
shares them). A check and its booking are two steps, so parallel guesses can overrun a budget
by the few that were in flight: bounded, and no worse than argon2's own pace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from config.settings import Settings
from service.web.ratelimit import KeyedLimiter, Limit, keyed_limiter

# A person mistypes their address once or twice; a sprayer tries dozens.
CLIENT_ACCOUNTS = 3

Scope = Literal["account", "client"]


@dataclass(frozen=True)
class Refusal:
    scope: Scope  # "account": this client, this account; "client": this client, any new account
    retry_after: float  # seconds

    def sentence(self) -> str:
        minutes = max(1, int(self.retry_after // 60) + 1)
        wait = "a minute" if minutes == 1 else f"{minutes} minutes"
        if self.scope == "account":
            return f"This account is locked for your address after too many failed sign-ins; try again in {wait}."
        return f"Too many failed sign-ins from your address; try again in {wait}."


@dataclass(frozen=True)
class LoginThrottle:
    limiter: KeyedLimiter
    account_client: Limit
    client_accounts: Limit

    @classmethod
    def from_settings(cls, settings: Settings, limiter: KeyedLimiter | None = None) -> LoginThrottle:
        period = settings.admin_lockout_minutes * 60
        return cls(
            limiter if limiter is not None else keyed_limiter(settings),
            Limit("login-account-client", settings.admin_max_failed_logins, period),
            Limit("login-client-accounts", CLIENT_ACCOUNTS, period),
        )

    @staticmethod
    def _pair(account: str, client: str) -> str:
        return f"{account.strip().lower()}|{client}"

    def check(self, account: str, client: str) -> Refusal | None:
        """Before the password is verified: a Refusal while either budget is spent."""
        left, wait = self.limiter.peek(self._pair(account, client), self.account_client)
        if left == 0:
            return Refusal("account", wait)
        if left == self.account_client.count:  # an account this client has not failed on lately
            spare, wait = self.limiter.peek(client, self.client_accounts)
            if spare == 0:
                return Refusal("client", wait)
        return None

    def failed(self, account: str, client: str) -> list[Refusal]:
        """Book a wrong password; the refusals that this failure started (for the audit log)."""
        pair = self._pair(account, client)
        first = self.limiter.peek(pair, self.account_client)[0] == self.account_client.count
        self.limiter.hit(pair, self.account_client)
        if first:
            self.limiter.hit(client, self.client_accounts)
        started = []
        left, wait = self.limiter.peek(pair, self.account_client)
        if left == 0:
            started.append(Refusal("account", wait))
        spare, wait = self.limiter.peek(client, self.client_accounts)
        if first and spare == 0:
            started.append(Refusal("client", wait))
        return started


class LoginRefused(Exception):
    """The throttle refused this sign-in (answered 429); no password was checked, or this was
    the wrong password that spent the budget."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.sentence())
        self.refusal = refusal
