"""Officers' API for the partner registry and for requests for partner access."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.model.subscribers import Subscriber
from hub.partners.commands import (
    add_domain,
    add_organisation,
    change_organisation,
    decide,
    decision_command,
    existing,
    organisation_command,
    remove_domain,
    revoke,
)
from hub.partners.registry import (
    Decision,
    InvalidPartnerError,
    Organisation,
    PartnerRegistry,
    RequestState,
)
from hub.runtime.app import Runtime, utc_now
from hub.web.auth import BearerAuth, Principal, Role

ERRORS: dict[int | str, dict[str, Any]] = {code: {} for code in (401, 403, 404, 409, 422)}


class NewOrganisation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(max_length=64, description="a slug: lower-case letters, digits, dashes")
    name: str = Field(max_length=200)
    kind: str = Field(description="government, ngo, un-agency, donor, academia, ...")
    country: str | None = Field(default=None, description="ISO 3166 alpha-2, e.g. SN")
    domains: list[str] = Field(default_factory=list, max_length=100)


class OrganisationChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    kind: str | None = None
    country: str | None = None
    status: str | None = Field(default=None, description="active or revoked")


class NewDomain(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str = Field(max_length=253)


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organisation_id: str = Field(max_length=64)
    comment: str = Field(default="", max_length=1000)


class Refusal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(default="", max_length=1000)


def refused(exc: InvalidPartnerError) -> JSONResponse:
    problems = [{"path": f"$.{field}", "message": message} for field, message in exc.problems]
    return JSONResponse({"error": "refused", "problems": problems}, status_code=exc.status)


def create_partner_routes(rt: Runtime, auth: BearerAuth) -> APIRouter:
    router = APIRouter(tags=["partners"])
    as_officer = Depends(auth.requires(Role.OFFICER))

    async def write(key: bytes, value: dict[str, Any]) -> None:
        encoded = json.dumps(value, ensure_ascii=False).encode()
        await rt.app.producer.send_and_wait(rt.names.partners, key, encoded, None, None, None)

    def people_of(registry: PartnerRegistry) -> dict[str, int]:
        counts: dict[str, int] = {}
        for subscriber in rt.directory:
            grant = registry.grant(subscriber)
            if grant is not None and subscriber.is_active:
                counts[grant.organisation.id] = counts.get(grant.organisation.id, 0) + 1
        return counts

    def shown(organisation: Organisation, people: int | None = None) -> dict[str, Any]:
        found = organisation.to_dict()
        if people is not None:
            found["partners"] = people
        return found

    async def save(organisation: Organisation, cause: str, officer: Principal) -> dict[str, Any]:
        key, value = organisation_command(organisation, cause, officer.name)
        await write(key, value)
        return shown(organisation)

    @router.get("/api/v1/partners", responses=ERRORS)
    async def list_partners(
        _officer: Annotated[Principal, as_officer],
        status: Annotated[str | None, Query(pattern="^(active|revoked)$")] = None,
    ) -> list[dict[str, Any]]:
        """Partner organisations, with how many people each makes partners now."""
        registry = rt.partners.registry()
        counts = people_of(registry)
        return [
            shown(o, counts.get(o.id, 0))
            for o in sorted(registry.organisations.values(), key=lambda o: o.id)
            if status is None or o.status.value == status
        ]

    @router.get("/api/v1/partners/{org_id}", responses=ERRORS)
    async def get_partner(org_id: str, _officer: Annotated[Principal, as_officer]) -> Any:
        registry = rt.partners.registry()
        try:
            organisation = existing(registry, org_id)
        except InvalidPartnerError as exc:
            return refused(exc)
        return shown(organisation, people_of(registry).get(org_id, 0))

    @router.post("/api/v1/partners", status_code=201, responses=ERRORS)
    async def create_partner(
        body: NewOrganisation, officer: Annotated[Principal, as_officer]
    ) -> Any:
        """Register a partner organisation; people with an address on its domains are partners."""
        try:
            organisation = add_organisation(
                rt.partners.registry(), body.model_dump(), utc_now().isoformat()
            )
        except InvalidPartnerError as exc:
            return refused(exc)
        return await save(organisation, "registered", officer)

    @router.patch("/api/v1/partners/{org_id}", responses=ERRORS)
    async def change_partner(
        org_id: str, body: OrganisationChanges, officer: Annotated[Principal, as_officer]
    ) -> Any:
        """Change the name, kind, country or status (revoked: its people read as public)."""
        changes = body.model_dump(exclude_unset=True)
        try:
            organisation = change_organisation(
                rt.partners.registry(), org_id, changes, utc_now().isoformat()
            )
        except InvalidPartnerError as exc:
            return refused(exc)
        return await save(organisation, "changed", officer)

    @router.post("/api/v1/partners/{org_id}/domains", responses=ERRORS)
    async def add_partner_domain(
        org_id: str, body: NewDomain, officer: Annotated[Principal, as_officer]
    ) -> Any:
        try:
            organisation = add_domain(
                rt.partners.registry(), org_id, body.domain, utc_now().isoformat()
            )
        except InvalidPartnerError as exc:
            return refused(exc)
        return await save(organisation, "domain-added", officer)

    @router.delete("/api/v1/partners/{org_id}/domains/{domain}", responses=ERRORS)
    async def remove_partner_domain(
        org_id: str, domain: str, officer: Annotated[Principal, as_officer]
    ) -> Any:
        """People on this domain (without an approved request) read as public at once."""
        try:
            organisation = remove_domain(
                rt.partners.registry(), org_id, domain, utc_now().isoformat()
            )
        except InvalidPartnerError as exc:
            return refused(exc)
        return await save(organisation, "domain-removed", officer)

    @router.post("/api/v1/partners/{org_id}/revoke", responses=ERRORS)
    async def revoke_partner(org_id: str, officer: Annotated[Principal, as_officer]) -> Any:
        """Its people, by domain or by approval, read as public at once."""
        try:
            organisation = revoke(rt.partners.registry(), org_id, utc_now().isoformat())
        except InvalidPartnerError as exc:
            return refused(exc)
        return await save(organisation, "revoked", officer)

    def request_of(subscriber: Subscriber, registry: PartnerRegistry) -> dict[str, Any]:
        decision = registry.decisions.get(subscriber.id)
        grant = registry.grant(subscriber)
        return {
            "subscriber_id": subscriber.id,
            "name": subscriber.name,
            "email": subscriber.email,
            "language": subscriber.language,
            "organisation": subscriber.partner_request.organisation
            if subscriber.partner_request
            else subscriber.organisation,
            "requested_at": subscriber.partner_request.at if subscriber.partner_request else None,
            "self_declared": subscriber.partner_request is None,
            "confirmed": subscriber.confirmed,
            "state": (registry.request_state(subscriber) or RequestState.PENDING).value,
            "decision": decision.to_dict() if decision else None,
            "partner_now": grant.organisation.id if grant else None,
        }

    @router.get("/api/v1/partner-requests", responses=ERRORS)
    async def partner_requests(
        _officer: Annotated[Principal, as_officer],
        state: Annotated[str, Query(pattern="^(pending|approved|declined|all)$")] = "pending",
    ) -> list[dict[str, Any]]:
        """Requests for partner access from confirmed addresses (and records that claimed
        partner status before the registry), oldest first."""
        registry = rt.partners.registry()
        found = []
        for subscriber in rt.directory:
            current = registry.request_state(subscriber)
            if current is None or not subscriber.confirmed:
                continue
            if state == "all" or current.value == state:
                found.append(request_of(subscriber, registry))
        return sorted(found, key=lambda r: (r["requested_at"] or "", r["subscriber_id"]))

    async def answer(
        subscriber_id: str,
        decision: Decision,
        organisation_id: str | None,
        comment: str,
        officer: Principal,
    ) -> Any:
        registry = rt.partners.registry()
        try:
            made = decide(
                registry,
                rt.directory.get(subscriber_id),
                decision,
                organisation_id,
                comment,
                officer.name,
                utc_now().isoformat(),
            )
        except InvalidPartnerError as exc:
            return refused(exc)
        key, value = decision_command(made, officer.name)
        await write(key, value)
        return made.to_dict()

    @router.post("/api/v1/partner-requests/{subscriber_id}/approve", responses=ERRORS)
    async def approve(
        subscriber_id: str, body: Approval, officer: Annotated[Principal, as_officer]
    ) -> Any:
        """Grant partner access through an organisation; the person is told by email."""
        return await answer(
            subscriber_id, Decision.APPROVED, body.organisation_id, body.comment, officer
        )

    @router.post("/api/v1/partner-requests/{subscriber_id}/decline", responses=ERRORS)
    async def decline(
        subscriber_id: str, body: Refusal, officer: Annotated[Principal, as_officer]
    ) -> Any:
        """Refuse partner access (or withdraw it); the person is told by email."""
        return await answer(subscriber_id, Decision.DECLINED, None, body.comment, officer)

    return router
