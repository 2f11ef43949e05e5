"""Signing in to the console through the organisation's OpenID Connect provider (code + PKCE).

The provider says who the person is (a verified email address); the hub's own account with that
address says what they may do. So roles stay in one place (`hub users`), and someone the
provider knows but the hub does not gets no session.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from hub.errors import HubError
from hub.settings import OidcSettings

ALGORITHMS = ["RS256", "ES256", "PS256"]  # asymmetric only: the client secret never verifies


class OidcError(HubError):
    """The provider's answer cannot be trusted or used; says why, in words for the log."""


@dataclass(frozen=True, slots=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True, slots=True)
class Pending:
    """What the browser carries (signed) between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str  # PKCE (RFC 7636): only this browser's sign-in can spend the code
    back_to: str

    def as_dict(self) -> dict[str, str]:
        return {"s": self.state, "n": self.nonce, "v": self.verifier, "b": self.back_to}

    @classmethod
    def from_dict(cls, value: Any) -> Pending:
        return cls(str(value["s"]), str(value["n"]), str(value["v"]), str(value["b"]))


@dataclass(frozen=True, slots=True)
class Identity:
    subject: str
    email: str
    name: str


class OidcClient:
    def __init__(
        self,
        settings: OidcSettings,
        redirect_uri: str,
        http: Callable[[], httpx.AsyncClient] = lambda: httpx.AsyncClient(timeout=10),
    ) -> None:
        self.settings = settings
        self.redirect_uri = redirect_uri
        self.http = http
        self._provider: Provider | None = None
        self._keys: dict[str, jwt.PyJWK] = {}

    async def provider(self) -> Provider:
        """The provider's endpoints from its discovery document (read once)."""
        if self._provider is None:
            issuer = self.settings.issuer.rstrip("/")
            found = await self._get_json(f"{issuer}/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != issuer:
                raise OidcError(
                    f"the discovery document names another issuer: {found.get('issuer')!r}"
                )
            try:
                self._provider = Provider(
                    str(found["issuer"]),
                    str(found["authorization_endpoint"]),
                    str(found["token_endpoint"]),
                    str(found["jwks_uri"]),
                )
            except KeyError as exc:
                raise OidcError(f"the discovery document lacks {exc}") from None
        return self._provider

    async def start(self, back_to: str) -> tuple[str, Pending]:
        """Where to send the browser, and what it must bring back."""
        provider = await self.provider()
        pending = Pending(
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(48),
            back_to,
        )
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(pending.verifier.encode()).digest()
        ).rstrip(b"=")
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.settings.scopes,
                "state": pending.state,
                "nonce": pending.nonce,
                "code_challenge": challenge.decode(),
                "code_challenge_method": "S256",
            }
        )
        return f"{provider.authorization_endpoint}?{query}", pending

    async def finish(self, code: str, state: str, pending: Pending) -> Identity:
        """The person the provider vouches for; OidcError if anything does not hold."""
        if not secrets.compare_digest(state, pending.state):
            raise OidcError("the sign-in came back with another state")
        provider = await self.provider()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.settings.client_id,
            "code_verifier": pending.verifier,
        }
        if self.settings.client_secret is not None:
            form["client_secret"] = self.settings.client_secret.get_secret_value()
        async with self.http() as client:
            answer = await client.post(provider.token_endpoint, data=form)
        if answer.status_code != 200:
            raise OidcError(
                f"the token endpoint answered {answer.status_code}: {answer.text[:200]}"
            )
        token = answer.json().get("id_token")
        if not isinstance(token, str):
            raise OidcError("the token endpoint gave no id_token")
        claims = await self._verified(token, provider)
        if claims.get("nonce") != pending.nonce:
            raise OidcError("the ID token's nonce is not this sign-in's")
        email = claims.get("email")
        if not isinstance(email, str) or claims.get("email_verified") is False:
            raise OidcError("the provider gave no verified email address")
        return Identity(str(claims["sub"]), email.lower(), str(claims.get("name", "")))

    async def _verified(self, token: str, provider: Provider) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            key = await self._key(str(header.get("kid", "")), provider)
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=ALGORITHMS,
                audience=self.settings.client_id,
                issuer=provider.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=60,
            )
        except jwt.PyJWTError as exc:
            raise OidcError(f"the ID token does not verify: {exc}") from exc
        return claims

    async def _key(self, kid: str, provider: Provider) -> jwt.PyJWK:
        if kid not in self._keys:  # a new key id: the provider rotated its keys
            keys = await self._get_json(provider.jwks_uri)
            self._keys = {
                str(k.get("kid", "")): jwt.PyJWK(k)
                for k in keys.get("keys", [])
                if k.get("use", "sig") == "sig"
            }
        if kid not in self._keys:
            raise OidcError(f"no signing key {kid!r} at the provider")
        return self._keys[kid]

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self.http() as client:
                answer = await client.get(url)
            answer.raise_for_status()
            found = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"{url}: {exc}") from exc
        if not isinstance(found, dict):
            raise OidcError(f"{url}: not a JSON object")
        return found
