"""Bearer-token authentication with roles: who is calling, and may they do this? 401 vs 403."""

# No `from __future__ import annotations` here: FastAPI must see the guard's real annotations.

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.access.credentials import Credential
from hub.access.roles import Role

__all__ = ["SCHEME", "BearerAuth", "CredentialLookup", "Principal", "Role"]

SCHEME = "bearer"  # the security scheme's name in the OpenAPI document
# Declares the scheme in the OpenAPI document; identify() reads the header itself (401 vs 403).
_BEARER = HTTPBearer(
    scheme_name=SCHEME,
    auto_error=False,
    description="A token from `hub tokens create`; each operation lists the roles it accepts.",
)


class CredentialLookup(Protocol):
    """The credentials this worker accepts (hub.access.credentials.CredentialIndex)."""

    @property
    def ready(self) -> bool:
        """False until the credentials topic was read: a revoked token could still look valid."""

    def find(self, token: str) -> Credential | None:
        """The active credential holding this token."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of a credential: a name for the audit trail and the roles it was given."""

    name: str
    roles: frozenset[Role]

    def has(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)


class BearerAuth:
    """Maps a presented bearer token to its credential, and guards routes by role."""

    def __init__(self, credentials: CredentialLookup) -> None:
        self._credentials = credentials

    def identify(self, authorization: str | None) -> Principal:
        """The caller; 401 without credentials, 403 with wrong or revoked ones."""
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="a bearer token is required",
                headers={"WWW-Authenticate": 'Bearer realm="hub"'},
            )
        if not self._credentials.ready:
            # Until the credentials topic is read, a revoked token could still look valid.
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                detail="the worker is starting; try again in a moment",
                headers={"Retry-After": "1"},
            )
        credential = self._credentials.find(presented.strip())
        if credential is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this token is not valid")
        return Principal(credential.name, credential.roles)

    def requires(self, *roles: Role) -> Callable[..., Awaitable[Principal]]:
        """A FastAPI dependency: the caller, if they hold one of `roles`; 401/403 otherwise.

        The roles become the scopes of the bearer requirement in the OpenAPI document
        (OpenAPI 3.1 lets a non-OAuth scheme list role names there).
        """
        allowed = frozenset(roles)
        declared = Security(_BEARER, scopes=sorted(r.value for r in allowed))

        async def dependency(
            request: Request,
            _declared: Annotated[HTTPAuthorizationCredentials | None, declared],
        ) -> Principal:
            principal = self.identify(request.headers.get("authorization"))
            if not principal.has(*allowed):
                wanted = " or ".join(sorted(allowed))
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN, detail=f"this needs the {wanted} role"
                )
            return principal

        return dependency
