"""Bearer-token authentication with roles: who is calling, and may they do this? 401 vs 403."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from fastapi import HTTPException, Request, status
from pydantic import SecretStr


class Role(StrEnum):
    """What a credential may do; every route requires one of these."""

    PUBLISHER = "publisher"  # publish events; dry runs; the status of their own events
    EDITOR = "editor"  # newsletter curation, preview and send-now
    OFFICER = "officer"  # subscribers, partners, export, erasure, redrive, audit, any status
    ADMIN = "admin"  # credentials


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of a credential: a name for the audit trail and the roles it was given."""

    name: str
    roles: frozenset[Role]

    def has(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)


class BearerAuth:
    """Maps a presented bearer token to its principal, and guards routes by role."""

    def __init__(self, tokens: Mapping[str, SecretStr]) -> None:
        # Transitional: tokens from HUB_PUBLISHER_TOKENS hold every role.
        self._tokens = [
            (name, secret.get_secret_value().encode()) for name, secret in tokens.items()
        ]

    def identify(self, authorization: str | None) -> Principal:
        """The caller; 401 without credentials, 403 with wrong ones."""
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="a bearer token is required",
                headers={"WWW-Authenticate": 'Bearer realm="hub"'},
            )
        candidate = presented.strip().encode()
        found: str | None = None
        # Compare against every token, so timing does not reveal which one nearly matched.
        for name, token in self._tokens:
            if hmac.compare_digest(candidate, token) and found is None:
                found = name
        if found is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this token is not valid")
        return Principal(found, frozenset(Role))

    def requires(self, *roles: Role) -> Callable[[Request], Awaitable[Principal]]:
        """A FastAPI dependency: the caller, if they hold one of `roles`; 401/403 otherwise."""
        allowed = frozenset(roles)

        async def dependency(request: Request) -> Principal:
            principal = self.identify(request.headers.get("authorization"))
            if not principal.has(*allowed):
                wanted = " or ".join(sorted(allowed))
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN, detail=f"this needs the {wanted} role"
                )
            return principal

        return dependency
