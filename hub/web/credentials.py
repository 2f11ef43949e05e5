"""Credential endpoints: who am I (any role); list, issue and revoke credentials (admin)."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from hub.access.credentials import Credential, CredentialError, issue, revoke
from hub.model import audit
from hub.services import AuditTrail, CredentialStore, utc_now
from hub.web.auth import BearerAuth, Principal, Role


class NewCredential(BaseModel):
    name: str = Field(min_length=1, max_length=64, examples=["ana.silva"])
    roles: list[Role] = Field(min_length=1)


class IssuedCredential(BaseModel):
    name: str
    roles: list[Role]
    token: str = Field(description="shown only in this answer; only its hash is kept")


class CredentialView(BaseModel):
    name: str
    roles: list[Role]
    created_at: str
    created_by: str
    revoked_at: str | None
    revoked_by: str | None


class Caller(BaseModel):
    name: str
    roles: list[Role]


def create_credential_routes(
    credentials: CredentialStore, audit_trail: AuditTrail, auth: BearerAuth
) -> APIRouter:
    router = APIRouter()
    as_anyone = Depends(auth.requires(*Role))
    as_admin = Depends(auth.requires(Role.ADMIN))

    async def write(credential: Credential, action: str, by: str) -> None:
        await credentials.save(credential)
        roles = credential.as_record()["roles"]
        entry = audit.record(by, action, credential.name, utc_now(), roles=roles)
        await audit_trail.record(credential.name.encode(), entry)

    @router.get("/api/v1/credentials/me")
    async def whoami(caller: Annotated[Principal, as_anyone]) -> Caller:
        """The credential this request was made with: its name and roles."""
        return Caller(name=caller.name, roles=sorted(caller.roles))

    @router.get("/api/v1/credentials")
    async def list_credentials(
        _admin: Annotated[Principal, as_admin], revoked: bool = False
    ) -> list[CredentialView]:
        """Every credential (names, roles, when and by whom created or revoked; never a hash)."""
        return [CredentialView(**c.public()) for c in credentials.all() if revoked or c.active]

    @router.post("/api/v1/credentials", status_code=201, responses={409: {}, 422: {}})
    async def create_credential(
        body: NewCredential, admin: Annotated[Principal, as_admin]
    ) -> IssuedCredential:
        """Issue a credential; its token is in this answer only."""
        existing = credentials.get(body.name)
        try:
            credential, token = issue(body.name, body.roles, admin.name, utc_now(), existing)
        except CredentialError as exc:
            status = 409 if existing is not None and existing.active else 422
            raise HTTPException(status, detail=str(exc)) from exc
        await write(credential, "credential.created", admin.name)
        return IssuedCredential(name=credential.name, roles=sorted(credential.roles), token=token)

    @router.delete("/api/v1/credentials/{name}", responses={404: {}, 409: {}})
    async def revoke_credential(name: str, admin: Annotated[Principal, as_admin]) -> dict[str, Any]:
        """Revoke a credential at once, on every worker."""
        existing = credentials.get(name)
        try:
            revoked = revoke(existing, name, admin.name, utc_now())
        except CredentialError as exc:
            raise HTTPException(404 if existing is None else 409, detail=str(exc)) from exc
        await write(revoked, "credential.revoked", admin.name)
        return {"name": name, "revoked_at": revoked.revoked_at}

    return router
