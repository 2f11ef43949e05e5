"""Bearer-token authentication for write APIs: constant-time comparison, 401 vs 403."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from fastapi import HTTPException, Request, status
from pydantic import SecretStr


class BearerAuth:
    """Maps a presented bearer token to the publisher it belongs to."""

    def __init__(self, tokens: Mapping[str, SecretStr]) -> None:
        self._tokens = [
            (name, secret.get_secret_value().encode()) for name, secret in tokens.items()
        ]

    def identify(self, authorization: str | None) -> str:
        """The publisher's name; 401 without credentials, 403 with wrong ones."""
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
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this token may not publish")
        return found

    async def __call__(self, request: Request) -> str:
        return self.identify(request.headers.get("authorization"))
