"""Named API credentials: random tokens, kept only as SHA-256 hashes, with roles. Pure.

A credential record is the whole latest state of one name on the compacted credentials topic
(key: the name). Tokens are 32 random bytes, so a fast hash is enough: nobody can search a
2^256 space, and no salt is needed against precomputed tables.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.access.roles import Role
from hub.errors import BadRecord, Problem
from hub.model.credentials import CredentialRecord

TOKEN_PREFIX = "hub_"  # noqa: S105 (not a secret: a leaked token is easy for scanners to spot)
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")


class CredentialError(ValueError):
    """A credential command that cannot be carried out (bad name, unknown role, no such name)."""


def new_token() -> str:
    """A fresh bearer token: 32 random bytes, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    roles: set[Role] = set()
    for value in values:
        try:
            roles.add(Role(value.strip().lower()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise CredentialError(f"unknown role {value!r}; roles are {known}") from None
    if not roles:
        raise CredentialError("a credential needs at least one role")
    return frozenset(roles)


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise CredentialError(
            f"credential name {name!r}: 1-64 characters, lower-case letters, digits, . _ @ -, "
            "starting with a letter or digit"
        )
    return name


@dataclass(frozen=True, slots=True)
class Credential:
    """One named credential: who holds it, what it may do, and (only) the hash of its token."""

    name: str
    roles: frozenset[Role]
    sha256: str
    created_at: str
    created_by: str
    revoked_at: str | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_record(self) -> dict[str, Any]:
        return CredentialRecord(
            name=self.name,
            roles=sorted(r.value for r in self.roles),
            sha256=self.sha256,
            created_at=self.created_at,
            created_by=self.created_by,
            revoked_at=self.revoked_at,
            revoked_by=self.revoked_by,
        ).dump()

    def public(self) -> dict[str, Any]:
        """What `hub tokens list` shows: everything but the hash."""
        record = self.as_record()
        del record["sha256"], record["v"]
        return record

    @classmethod
    def from_record(cls, value: object) -> Credential:
        """A credential from its topic record; BadRecord naming every invalid field if not."""
        record = CredentialRecord.parse(value)
        try:
            roles = parse_roles(record.roles)
        except CredentialError as exc:
            raise BadRecord(record.record_name, [Problem("$.roles", str(exc))]) from exc
        return cls(
            name=record.name,
            roles=roles,
            sha256=record.sha256,
            created_at=record.created_at,
            created_by=record.created_by,
            revoked_at=record.revoked_at,
            revoked_by=record.revoked_by,
        )


def issue(
    name: str, roles: Iterable[str], by: str, now: datetime, existing: Credential | None
) -> tuple[Credential, str]:
    """A new credential and its token (shown once); refused if the name is taken and active."""
    check_name(name)
    chosen = parse_roles(roles)
    if existing is not None and existing.active:
        raise CredentialError(f"credential {name!r} exists; revoke it first or choose another name")
    token = new_token()
    credential = Credential(name, chosen, token_hash(token), now.isoformat(), by)
    return credential, token


def revoke(existing: Credential | None, name: str, by: str, now: datetime) -> Credential:
    if existing is None:
        raise CredentialError(f"no credential named {name!r}")
    if not existing.active:
        raise CredentialError(f"credential {name!r} was already revoked at {existing.revoked_at}")
    return Credential(
        existing.name,
        existing.roles,
        existing.sha256,
        existing.created_at,
        existing.created_by,
        revoked_at=now.isoformat(),
        revoked_by=by,
    )


class CredentialIndex:
    """The credentials a worker accepts: those from its environment, then the topic's records.

    A topic record for a name replaces the environment's entry of that name, so revoking an
    environment credential with `hub tokens revoke` holds too.
    """

    def __init__(self, bootstrap: Iterable[Credential] = ()) -> None:
        self._by_name: dict[str, Credential] = {c.name: c for c in bootstrap}
        self.ready = False  # set once the topic was read to its end at start

    def apply(self, name: str, record: object) -> None:
        """One record of the credentials topic; None (a tombstone) forgets the name.

        Raises BadRecord for a record that does not read; the name keeps what it had.
        """
        if record is None:
            self._by_name.pop(name, None)
        else:
            self._by_name[name] = Credential.from_record(record)

    def get(self, name: str) -> Credential | None:
        return self._by_name.get(name)

    def all(self) -> list[Credential]:
        return sorted(self._by_name.values(), key=lambda c: c.name)

    def find(self, token: str) -> Credential | None:
        """The active credential holding this token, compared in constant time against all."""
        presented = token_hash(token).encode()
        found: Credential | None = None
        for credential in self._by_name.values():
            # Every hash is compared, so the time taken does not depend on which one matched.
            if hmac.compare_digest(presented, credential.sha256.encode()) and credential.active:
                found = credential
        return found
