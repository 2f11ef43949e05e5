"""Changes an officer makes to the partner registry, each checked against the registry as it
stands, and the records they write to the partners topic. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from hub.model.partner_commands import DecisionCommand, OrganisationCommand
from hub.model.subscribers import Subscriber
from hub.partners.registry import (
    AccessDecision,
    Decision,
    InvalidPartnerError,
    Organisation,
    OrganisationStatus,
    PartnerRegistry,
    check_domain,
    decision_from_dict,
    organisation_from_dict,
)


def _no_domain_clash(registry: PartnerRegistry, org_id: str, domains: Iterable[str]) -> None:
    problems = []
    for domain in sorted(domains):
        owner = registry.owner_of(domain)
        if owner is not None and owner.id != org_id:
            problems.append(("domains", f"{domain} is already registered to {owner.id}"))
    if problems:
        raise InvalidPartnerError(problems, status=409)


def add_organisation(registry: PartnerRegistry, raw: Mapping[str, Any], now: str) -> Organisation:
    organisation = organisation_from_dict({**raw, "status": "active", "updated_at": now})
    if organisation.id in registry.organisations:
        raise InvalidPartnerError([("id", f"{organisation.id} is already registered")], 409)
    _no_domain_clash(registry, organisation.id, organisation.domains)
    return organisation


def existing(registry: PartnerRegistry, org_id: str) -> Organisation:
    found = registry.organisations.get(org_id)
    if found is None:
        raise InvalidPartnerError([("id", f"no partner organisation {org_id!r}")], status=404)
    return found


def change_organisation(
    registry: PartnerRegistry, org_id: str, changes: Mapping[str, Any], now: str
) -> Organisation:
    """New name, kind, country or status; domains change one at a time (add/remove)."""
    current = existing(registry, org_id)
    unknown = set(changes) - {"name", "kind", "country", "status"}
    if unknown:
        raise InvalidPartnerError([(k, "cannot be changed here") for k in sorted(unknown)])
    merged = {**current.to_dict(), **changes, "updated_at": now}
    return organisation_from_dict(merged)


def add_domain(registry: PartnerRegistry, org_id: str, domain: str, now: str) -> Organisation:
    current = existing(registry, org_id)
    checked = check_domain(domain)
    _no_domain_clash(registry, org_id, [checked])
    return replace(current, domains=current.domains | {checked}, updated_at=now)


def remove_domain(registry: PartnerRegistry, org_id: str, domain: str, now: str) -> Organisation:
    current = existing(registry, org_id)
    wanted = domain.strip().lower().rstrip(".")
    if wanted not in current.domains:
        raise InvalidPartnerError([("domain", f"{wanted} is not a domain of {org_id}")], 404)
    return replace(current, domains=current.domains - {wanted}, updated_at=now)


def revoke(registry: PartnerRegistry, org_id: str, now: str) -> Organisation:
    return replace(existing(registry, org_id), status=OrganisationStatus.REVOKED, updated_at=now)


def decide(
    registry: PartnerRegistry,
    subscriber: Subscriber | None,
    decision: Decision,
    organisation_id: str | None,
    comment: str,
    by: str,
    now: str,
) -> AccessDecision:
    """An officer's answer to a request; an approval must name an active organisation."""
    if subscriber is None or registry.request_state(subscriber) is None:
        raise InvalidPartnerError([("subscriber", "no request for partner access")], 404)
    if not subscriber.confirmed:
        raise InvalidPartnerError([("subscriber", "the address is not confirmed yet")], 409)
    if decision is Decision.APPROVED:
        organisation = registry.organisations.get(organisation_id or "")
        if organisation is None or not organisation.is_active:
            raise InvalidPartnerError(
                [("organisation_id", f"no active partner organisation {organisation_id!r}")]
            )
    return decision_from_dict(
        {
            "subscriber_id": subscriber.id,
            "decision": decision.value,
            "organisation_id": organisation_id if decision is Decision.APPROVED else None,
            "comment": " ".join(comment.split()),
            "by": by,
            "at": now,
        }
    )


def organisation_command(
    organisation: Organisation, cause: str, actor: str
) -> tuple[bytes, dict[str, Any]]:
    """The key and value written to the partners topic."""
    value = OrganisationCommand(cause=cause, actor=actor, organisation=organisation.to_dict())
    return f"org:{organisation.id}".encode(), value.dump()


def decision_command(decision: AccessDecision, actor: str) -> tuple[bytes, dict[str, Any]]:
    cause = f"access-{decision.decision.value}"
    value = DecisionCommand(cause=cause, actor=actor, decision=decision.to_dict())
    return access_key(decision.subscriber_id), value.dump()


def access_key(subscriber_id: str) -> bytes:
    return f"access:{subscriber_id}".encode()
