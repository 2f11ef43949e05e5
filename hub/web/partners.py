"""Officers' API for the partner registry and for requests for partner access."""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.model.subscribers import Subscriber
from hub.partners.commands import (
    add_domain,
    add_organisation,
    change_organisation,
    existing,
    remove_domain,
    revoke,
)
from hub.partners.desk import (
    OrganisationChange,
    answer_request,
    change_registry,
    requested_organisation,
    requests_in,
)
from hub.partners.registry import (
    Decision,
    InvalidPartnerError,
    Organisation,
    PartnerRegistry,
    RequestState,
)
from hub.services import DirectoryReader, PartnerCommands, PartnerReader, utc_now
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


def create_partner_routes(
    partners: PartnerReader,
    directory: DirectoryReader,
    commands: PartnerCommands,
    auth: BearerAuth,
) -> APIRouter:
    router = APIRouter(tags=["partners"])
    as_officer = Depends(auth.requires(Role.OFFICER))

    def people_of(registry: PartnerRegistry) -> dict[str, int]:
        counts: dict[str, int] = {}
        for subscriber in directory:
            grant = registry.grant(subscriber)
            if grant is not None and subscriber.is_active:
                counts[grant.organisation.id] = counts.get(grant.organisation.id, 0) + 1
        return counts

    def shown(organisation: Organisation, people: int | None = None) -> dict[str, Any]:
        found = organisation.to_dict()
        if people is not None:
            found["partners"] = people
        return found

    async def changed(cause: str, change: OrganisationChange, officer: Principal) -> Any:
        """The organisation as changed and written, or the refusal (nothing written)."""
        try:
            organisation = await change_registry(
                partners.registry(), change, cause, officer.name, utc_now().isoformat(), commands
            )
        except InvalidPartnerError as exc:
            return refused(exc)
        return shown(organisation)

    @router.get("/api/v1/partners", responses=ERRORS)
    async def list_partners(
        _officer: Annotated[Principal, as_officer],
        status: Annotated[str | None, Query(pattern="^(active|revoked)$")] = None,
    ) -> list[dict[str, Any]]:
        """Partner organisations, with how many people each makes partners now."""
        registry = partners.registry()
        counts = people_of(registry)
        return [
            shown(o, counts.get(o.id, 0))
            for o in sorted(registry.organisations.values(), key=lambda o: o.id)
            if status is None or o.status.value == status
        ]

    @router.get("/api/v1/partners/{org_id}", responses=ERRORS)
    async def get_partner(org_id: str, _officer: Annotated[Principal, as_officer]) -> Any:
        registry = partners.registry()
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
        raw = body.model_dump()
        return await changed("registered", lambda r, now: add_organisation(r, raw, now), officer)

    @router.patch("/api/v1/partners/{org_id}", responses=ERRORS)
    async def change_partner(
        org_id: str, body: OrganisationChanges, officer: Annotated[Principal, as_officer]
    ) -> Any:
        """Change the name, kind, country or status (revoked: its people read as public)."""
        changes = body.model_dump(exclude_unset=True)
        return await changed(
            "changed", lambda r, now: change_organisation(r, org_id, changes, now), officer
        )

    @router.post("/api/v1/partners/{org_id}/domains", responses=ERRORS)
    async def add_partner_domain(
        org_id: str, body: NewDomain, officer: Annotated[Principal, as_officer]
    ) -> Any:
        return await changed(
            "domain-added", lambda r, now: add_domain(r, org_id, body.domain, now), officer
        )

    @router.delete("/api/v1/partners/{org_id}/domains/{domain}", responses=ERRORS)
    async def remove_partner_domain(
        org_id: str, domain: str, officer: Annotated[Principal, as_officer]
    ) -> Any:
        """People on this domain (without an approved request) read as public at once."""
        return await changed(
            "domain-removed", lambda r, now: remove_domain(r, org_id, domain, now), officer
        )

    @router.post("/api/v1/partners/{org_id}/revoke", responses=ERRORS)
    async def revoke_partner(org_id: str, officer: Annotated[Principal, as_officer]) -> Any:
        """Its people, by domain or by approval, read as public at once."""
        return await changed("revoked", lambda r, now: revoke(r, org_id, now), officer)

    def request_of(subscriber: Subscriber, registry: PartnerRegistry) -> dict[str, Any]:
        decision = registry.decisions.get(subscriber.id)
        grant = registry.grant(subscriber)
        return {
            "subscriber_id": subscriber.id,
            "name": subscriber.name,
            "email": subscriber.email,
            "language": subscriber.language,
            "organisation": requested_organisation(subscriber),
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
        registry = partners.registry()
        found = [request_of(s, registry) for s in requests_in(registry, directory, state)]
        return sorted(found, key=lambda r: (r["requested_at"] or "", r["subscriber_id"]))

    async def answer(
        subscriber_id: str,
        decision: Decision,
        organisation_id: str | None,
        comment: str,
        officer: Principal,
    ) -> Any:
        try:
            made = await answer_request(
                partners.registry(),
                directory.get(subscriber_id),
                decision,
                organisation_id,
                comment,
                officer.name,
                utc_now().isoformat(),
                commands,
            )
        except InvalidPartnerError as exc:
            return refused(exc)
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
