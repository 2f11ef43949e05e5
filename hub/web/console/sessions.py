"""Console sessions: a signed cookie with an idle timeout and a lifetime, and its CSRF token.

The cookie names the account and the time its password was set: a new password or a disabled
account ends the session at its next request, on every worker (they all follow the accounts
topic). It is re-signed on every request, and the signature's time is when it was last used, so
one idle for longer than the timeout is refused. Nothing else is kept on the server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import itsdangerous

from hub.access.accounts import Account

COOKIE = "hub_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class Accounts(Protocol):
    def get(self, name: str) -> Account | None: ...


@dataclass(frozen=True, slots=True)
class Session:
    account: Account
    session_id: str  # random per sign-in: the CSRF token is bound to it
    started: int  # epoch seconds of the sign-in, for the session's whole lifetime


class Sessions:
    """Issues and reads session cookies; makes and checks their CSRF tokens."""

    def __init__(
        self, keys: list[bytes], idle: timedelta, lifetime: timedelta, secure: bool
    ) -> None:
        self.idle = idle
        self.lifetime = lifetime
        self.secure = secure  # the Secure flag: set whenever the console is served over https
        self.keys = keys  # also signs single sign-on's short-lived cookie
        self._cookies = itsdangerous.URLSafeTimedSerializer(keys, salt="hub.console-session")
        self._csrf = itsdangerous.Signer(
            keys, salt="hub.console-csrf", digest_method=hashlib.sha256
        )

    def issue(self, account: Account, now: datetime, session: Session | None = None) -> str:
        """A new session's cookie value, or (given `session`) the same session used again now."""
        body = {
            "a": account.name,
            "p": account.password_set_at,
            "s": session.session_id if session else secrets.token_urlsafe(16),
            "b": session.started if session else int(now.timestamp()),
        }
        return self._cookies.dumps(body)

    def read(self, value: str | None, accounts: Accounts, now: datetime) -> Session | None:
        """The session of a cookie: genuine, used within the idle timeout, within its lifetime,
        of an active account whose password has not changed since. None otherwise."""
        if not value:
            return None
        try:
            body: Any = self._cookies.loads(value, max_age=int(self.idle.total_seconds()))
            name, password_set_at = str(body["a"]), str(body["p"])
            session_id, started = str(body["s"]), int(body["b"])
        except (itsdangerous.BadData, KeyError, TypeError, ValueError):
            return None
        if now.timestamp() - started > self.lifetime.total_seconds():
            return None
        account = accounts.get(name)
        if account is None or not account.active or account.password_set_at != password_set_at:
            return None
        return Session(account, session_id, started)

    def csrf_token(self, session: Session) -> str:
        return self._csrf.get_signature(session.session_id).decode()

    def csrf_ok(self, session: Session, presented: str | None) -> bool:
        expected = self.csrf_token(session)
        return bool(presented) and hmac.compare_digest(expected, str(presented))

    def cookie_options(self) -> dict[str, Any]:
        return {
            "key": COOKIE,
            "httponly": True,
            "secure": self.secure,
            "samesite": "strict",
            "path": "/console",
            "max_age": int(self.idle.total_seconds()),
        }
