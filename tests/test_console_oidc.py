"""Console single sign-on against an OpenID Connect provider run by the test: discovery, the
authorization code with PKCE, an RS256 ID token checked against the provider's keys, the
account found by the verified email address; and every way it must refuse."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import SecretStr

from hub.settings import OidcSettings, Settings
from tests.test_console_web import SECRET, Console, make_console

ISSUER = "https://idp.test"
CLIENT = "comms-hub"


@dataclass
class Provider:
    """A small OpenID provider: one signing key, one person signed in, codes spent once."""

    email: str = "otto.officer@example.org"
    verified: bool = True
    key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    kid: str = "k1"
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    issuer_in_token: str = ISSUER
    audience: str = CLIENT

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, str]:
            return {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks",
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

        @app.get("/authorize")
        async def authorize(
            redirect_uri: str, state: str, nonce: str, code_challenge: str, client_id: str
        ) -> RedirectResponse:
            assert client_id == CLIENT
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": nonce, "challenge": code_challenge}
            return RedirectResponse(f"{redirect_uri}?code={code}&state={state}", status_code=302)

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
            code, code_verifier = form.get("code", ""), form.get("code_verifier", "")
            client_secret = form.get("client_secret", "")
            issued = self.codes.pop(code, None)
            digest = hashlib.sha256(code_verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if issued is None or issued["challenge"] != challenge or client_secret != "s3cret":
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {
                "iss": self.issuer_in_token,
                "aud": self.audience,
                "sub": "user-1",
                "iat": now,
                "exp": now + 300,
                "nonce": issued["nonce"],
                "email": self.email,
                "email_verified": self.verified,
                "name": "Otto",
            }
            signed = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
            return JSONResponse({"id_token": signed, "token_type": "Bearer"})

        return app


def console_with(provider: Provider, tmp_path: Path) -> Console:
    settings = Settings(
        data_dir=tmp_path,
        secret_key=SecretStr(SECRET.decode()),
        console={
            "oidc": OidcSettings(issuer=ISSUER, client_id=CLIENT, client_secret=SecretStr("s3cret"))
        },
    )
    app = provider.app()
    return make_console(
        settings,
        oidc_http=lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app=app)),
    )


async def sign_in_through(
    console: Console, provider: Provider, tamper_state: bool = False
) -> tuple[httpx.Response, httpx.AsyncClient]:
    """The browser's round trip: to the provider, signed in there, and back."""
    client = console.client()
    page = await client.get("/console/sign-in")
    assert 'id="single-sign-on"' in page.text
    leave = await client.get("/console/sign-in/oidc", params={"next": "/console/events"})
    assert leave.status_code == 303
    to_provider = leave.headers["location"]
    assert to_provider.startswith(f"{ISSUER}/authorize?")
    assert parse_qs(urlsplit(to_provider).query)["code_challenge_method"] == ["S256"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=provider.app())) as idp:
        signed_in = await idp.get(to_provider)
    back = signed_in.headers["location"]
    assert back.startswith("http://127.0.0.1:6066/console/sign-in/oidc/callback?")
    query = urlsplit(back).query
    if tamper_state:
        query = query.replace("state=", "state=x")
    answer = await client.get("/console/sign-in/oidc/callback?" + query)
    return answer, client


async def test_a_verified_address_of_an_account_signs_in(tmp_path: Path) -> None:
    provider = Provider()
    answer, client = await sign_in_through(console_with(provider, tmp_path), provider)
    try:
        assert answer.status_code == 303 and answer.headers["location"] == "/console/events"
        events = await client.get("/console/events")
        assert events.status_code == 200 and "Otto.Officer" in events.text
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"email": "stranger@example.org"}, 403),  # the provider knows them; the hub does not
        ({"verified": False}, 401),
        ({"audience": "another-client"}, 401),
        ({"issuer_in_token": "https://evil.test"}, 401),
    ],
)
async def test_who_the_hub_cannot_trust_gets_no_session(
    tmp_path: Path, change: dict[str, Any], status: int
) -> None:
    provider = Provider(**change)
    answer, client = await sign_in_through(console_with(provider, tmp_path), provider)
    try:
        assert answer.status_code == status
        assert "hub_console" not in client.cookies
        assert (await client.get("/console/events")).status_code == 303
    finally:
        await client.aclose()


async def test_a_forged_state_or_a_missing_cookie_is_refused(tmp_path: Path) -> None:
    provider = Provider()
    console = console_with(provider, tmp_path)
    answer, client = await sign_in_through(console, provider, tamper_state=True)
    try:
        assert answer.status_code == 401 and "hub_console" not in client.cookies
    finally:
        await client.aclose()
    async with console.client() as stranger:  # a callback this browser never started
        lost = await stranger.get("/console/sign-in/oidc/callback?code=abc&state=def")
        assert lost.status_code == 400


async def test_a_token_signed_with_a_key_the_provider_does_not_publish_is_refused(
    tmp_path: Path,
) -> None:
    provider = Provider()
    console = console_with(provider, tmp_path)
    real_key = provider.key
    provider.key = rsa.generate_private_key(65537, 2048)  # signs with this one...
    published = provider.app

    def app_with_old_keys() -> FastAPI:
        app = published()
        for route in list(app.router.routes):
            if getattr(route, "path", "") == "/jwks":
                app.router.routes.remove(route)

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:  # ...but publishes the old one under the same kid
            public = jwt.algorithms.RSAAlgorithm.to_jwk(real_key.public_key(), as_dict=True)
            return {"keys": [{**public, "kid": provider.kid, "use": "sig"}]}

        return app

    provider.app = app_with_old_keys  # type: ignore[method-assign]
    console = console_with(provider, tmp_path)
    answer, client = await sign_in_through(console, provider)
    try:
        assert answer.status_code == 401 and "hub_console" not in client.cookies
    finally:
        await client.aclose()
