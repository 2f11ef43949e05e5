"""Console accounts: people who sign in with a password (argon2id), with the roles of the API. Pure.

An account record is the whole latest state of one name on the compacted accounts topic. A
session names its account and the time its password was set, so a reset or a disabled account
ends every session at its next request (hub.web.console.sessions).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.access.credentials import CredentialError, check_name, parse_roles
from hub.access.roles import Role
from hub.errors import BadRecord, Problem
from hub.i18n.languages import DEFAULT_LANGUAGES, LanguageError, Languages
from hub.model.accounts import AccountRecord

# RFC 9106's second recommended option (argon2id, 64 MiB, 3 passes): argon2-cffi's default.
HASHER = PasswordHasher()
MIN_PASSWORD = 12  # NIST SP 800-63B asks for at least 8; officers can publish to thousands
MAX_PASSWORD = 256  # argon2 takes any length; a bound keeps a sign-in from being a DoS
# Verified when the name is unknown, so an unknown name takes as long as a wrong password.
_DUMMY_HASH = HASHER.hash("not a password of anyone: timing only")


class AccountError(CredentialError):
    """An account command that cannot be carried out (bad name, weak password, no such name)."""


@dataclass(frozen=True, slots=True)
class Account:
    """One console account."""

    name: str
    display_name: str
    email: str
    roles: frozenset[Role]
    language: str
    password_hash: str
    password_set_at: str
    created_at: str
    created_by: str
    disabled_at: str | None = None
    disabled_by: str | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def has(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    def as_record(self) -> dict[str, Any]:
        return AccountRecord(
            name=self.name,
            display_name=self.display_name,
            email=self.email,
            roles=sorted(r.value for r in self.roles),
            language=self.language,
            password_hash=self.password_hash,
            password_set_at=self.password_set_at,
            created_at=self.created_at,
            created_by=self.created_by,
            disabled_at=self.disabled_at,
            disabled_by=self.disabled_by,
        ).dump()

    def public(self) -> dict[str, Any]:
        """What `hub users list` shows: everything but the hash."""
        record = self.as_record()
        del record["password_hash"], record["v"]
        return record

    @classmethod
    def from_record(cls, value: object) -> Account:
        """An account from its topic record; BadRecord naming every invalid field if not."""
        record = AccountRecord.parse(value)
        try:
            roles = parse_roles(record.roles)
        except CredentialError as exc:
            raise BadRecord(record.record_name, [Problem("$.roles", str(exc))]) from exc
        return cls(
            name=record.name,
            display_name=record.display_name,
            email=record.email,
            roles=roles,
            language=record.language,
            password_hash=record.password_hash,
            password_set_at=record.password_set_at,
            created_at=record.created_at,
            created_by=record.created_by,
            disabled_at=record.disabled_at,
            disabled_by=record.disabled_by,
        )


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")
    return password


def check_language(language: str, languages: Languages = DEFAULT_LANGUAGES) -> str:
    """The account's language, normalised (`FR` -> `fr`): one the hub speaks, since the
    console is read in it."""
    try:
        return languages.check(language)
    except LanguageError as exc:
        raise AccountError(f"language: {exc}") from None


def check_email(email: str) -> str:
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or any(c in email for c in " \r\n<>,;"):
        raise AccountError(f"email {email!r} is not an address like name@example.org")
    return email


def create(
    name: str,
    *,
    display_name: str,
    email: str,
    roles: Iterable[str],
    language: str,
    password: str,
    by: str,
    now: datetime,
    existing: Account | None,
    languages: Languages = DEFAULT_LANGUAGES,
) -> Account:
    """A new account; refused if the name is taken (reset or enable it instead), or if its
    language is not one of `languages` (those the hub speaks)."""
    try:
        check_name(name)
    except CredentialError as exc:
        raise AccountError(str(exc).replace("credential name", "account name")) from None
    if existing is not None:
        raise AccountError(f"account {name!r} exists; reset its password or enable it instead")
    return Account(
        name=name,
        display_name=display_name.strip() or name,
        email=check_email(email),
        roles=_roles(roles),
        language=check_language(language, languages),
        password_hash=HASHER.hash(check_password(password)),
        password_set_at=now.isoformat(),
        created_at=now.isoformat(),
        created_by=by,
    )


def _roles(values: Iterable[str]) -> frozenset[Role]:
    try:
        return parse_roles(values)
    except CredentialError as exc:
        raise AccountError(str(exc).replace("a credential", "an account")) from None


def reset(existing: Account | None, name: str, password: str, now: datetime) -> Account:
    """The account with a new password; every session signed in with the old one ends."""
    account = _named(existing, name)
    return replace(
        account,
        password_hash=HASHER.hash(check_password(password)),
        password_set_at=now.isoformat(),
    )


def disable(existing: Account | None, name: str, by: str, now: datetime) -> Account:
    account = _named(existing, name)
    if not account.active:
        raise AccountError(f"account {name!r} was already disabled at {account.disabled_at}")
    return replace(account, disabled_at=now.isoformat(), disabled_by=by)


def enable(existing: Account | None, name: str) -> Account:
    account = _named(existing, name)
    if account.active:
        raise AccountError(f"account {name!r} is not disabled")
    return replace(account, disabled_at=None, disabled_by=None)


def _named(existing: Account | None, name: str) -> Account:
    if existing is None:
        raise AccountError(f"no account named {name!r}")
    return existing


class AccountIndex:
    """The accounts a worker knows, as the accounts topic has them."""

    def __init__(self, accounts: Iterable[Account] = ()) -> None:
        self._by_name: dict[str, Account] = {a.name: a for a in accounts}
        self.ready = False  # set once the topic was read to its end at start

    def apply(self, key: str, value: object) -> None:
        """One record of the accounts topic; None (a tombstone) forgets the name."""
        if value is None:
            self._by_name.pop(key, None)
        else:
            self._by_name[key] = Account.from_record(value)

    def get(self, name: str) -> Account | None:
        return self._by_name.get(name)

    def all(self) -> list[Account]:
        return sorted(self._by_name.values(), key=lambda a: a.name)

    def by_email(self, email: str) -> Account | None:
        """The active account with this address (single sign-on finds people by it)."""
        wanted = email.strip().lower()
        found = [a for a in self._by_name.values() if a.active and a.email.lower() == wanted]
        return found[0] if len(found) == 1 else None  # two accounts, one address: neither

    def verify(self, name: str, password: str) -> Account | None:
        """The active account with this name and password; None for any mismatch, after the
        same work whether or not the name exists (no telling names apart by timing)."""
        account = self._by_name.get(name.strip().lower())
        try:
            HASHER.verify(
                account.password_hash if account else _DUMMY_HASH, password[:MAX_PASSWORD]
            )
        except (VerificationError, InvalidHashError):
            return None
        return account if account is not None and account.active else None
