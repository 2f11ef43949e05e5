"""The partner registry: organisations, their email domains, officers' access decisions. Pure.

Partner status is derived, never claimed: an external subscriber is a partner while their confirmed
address is on an active organisation's domain, or while an officer's approval of their request names
an organisation that is still active. Records on the compacted topic hub.partners.v1:

  "org:<id>"         {"cause", "actor", "organisation": {...}}  the organisation's whole record
  "access:<sub id>"  {"cause", "actor", "decision": {...}}      an officer's decision on a request
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hub.model.subscribers import OrganisationType, Subscriber

ORGANISATION_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
# Addresses anyone can open: registering one would make every user of the provider a partner.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "aol.com",
        "gmail.com",
        "googlemail.com",
        "gmx.com",
        "gmx.net",
        "hotmail.com",
        "icloud.com",
        "live.com",
        "mail.com",
        "mail.ru",
        "msn.com",
        "outlook.com",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "yahoo.com",
        "yahoo.fr",
        "yandex.ru",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "web.de",
        "zoho.com",
    }
)
MAX_COMMENT = 1000


class OrganisationStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"  # its people read as public at once


class Decision(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class InvalidPartnerError(ValueError):
    """A registry change that cannot be accepted; `problems` names each field."""

    def __init__(self, problems: list[tuple[str, str]], status: int = 422) -> None:
        self.problems = problems
        self.status = status
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    kind: OrganisationType
    country: str | None = None
    domains: frozenset[str] = frozenset()
    status: OrganisationStatus = OrganisationStatus.ACTIVE
    updated_at: str = ""

    @property
    def is_active(self) -> bool:
        return self.status is OrganisationStatus.ACTIVE

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind.value,
            "country": self.country,
            "domains": sorted(self.domains),
            "status": self.status.value,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """An officer's answer to one person's request for partner access."""

    subscriber_id: str
    decision: Decision
    organisation_id: str | None  # required for an approval: the grant lasts while it is active
    comment: str
    by: str
    at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "subscriber_id": self.subscriber_id,
            "decision": self.decision.value,
            "organisation_id": self.organisation_id,
            "comment": self.comment,
            "by": self.by,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class Grant:
    """Why someone is a partner now."""

    organisation: Organisation
    via: str  # "domain" or "approval"


def email_domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rpartition("@")[2].strip().lower().rstrip(".") or None


def parent_domains(domain: str) -> Iterable[str]:
    """partner.example.org, example.org: a registered domain covers its subdomains."""
    labels = domain.split(".")
    for start in range(len(labels) - 1):
        yield ".".join(labels[start:])


@dataclass(frozen=True)
class PartnerRegistry:
    """A consistent view of the registry; `grant` is the only way to be a partner."""

    organisations: Mapping[str, Organisation] = field(default_factory=dict)
    decisions: Mapping[str, AccessDecision] = field(default_factory=dict)
    _domains: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for organisation in self.organisations.values():
            if organisation.is_active:
                for domain in organisation.domains:
                    self._domains.setdefault(domain, organisation.id)

    def grant(self, subscriber: Subscriber) -> Grant | None:
        """The organisation that makes this person a partner now, and how; None for everyone else.

        Staff are staff, not partners; an address counts only once it is confirmed."""
        if subscriber.is_staff or not subscriber.confirmed:
            return None
        domain = email_domain(subscriber.email)
        if domain is not None:
            for candidate in parent_domains(domain):
                owner = self._domains.get(candidate)
                if owner is not None:
                    return Grant(self.organisations[owner], "domain")
        decision = self.decisions.get(subscriber.id)
        if decision is not None and decision.decision is Decision.APPROVED:
            organisation = self.organisations.get(decision.organisation_id or "")
            if organisation is not None and organisation.is_active:
                return Grant(organisation, "approval")
        return None

    def is_partner(self, subscriber: Subscriber) -> bool:
        return self.grant(subscriber) is not None

    def owner_of(self, domain: str) -> Organisation | None:
        """The organisation (active or revoked) that registered exactly this domain."""
        for organisation in self.organisations.values():
            if domain in organisation.domains:
                return organisation
        return None

    def request_state(self, subscriber: Subscriber) -> RequestState | None:
        """Where this person's request for partner access stands; None if they never asked.

        A record of kind `partner` from before the registry counts as a request: partner status
        was claimed on the form then, and is now granted only by an officer or a domain."""
        requested_at = _requested_at(subscriber)
        if requested_at is None:
            return None
        decision = self.decisions.get(subscriber.id)
        if decision is None or (requested_at and requested_at > decision.at):
            return RequestState.PENDING  # asked again after the last decision
        return RequestState(decision.decision.value)

    @classmethod
    def from_records(cls, records: Iterable[tuple[str, Any]]) -> PartnerRegistry:
        """From the table's key -> record pairs; unreadable entries are left out (fail closed)."""
        organisations: dict[str, Organisation] = {}
        decisions: dict[str, AccessDecision] = {}
        for key, raw in records:
            if not isinstance(raw, dict):
                continue
            try:
                if key.startswith("org:"):
                    organisation = organisation_from_dict(raw)
                    organisations[organisation.id] = organisation
                elif key.startswith("access:"):
                    decision = decision_from_dict(raw)
                    decisions[decision.subscriber_id] = decision
            except InvalidPartnerError:
                continue
        return cls(organisations, decisions)


EMPTY = PartnerRegistry()


class PartnerBook:
    """The registry over a mapping of key -> record (a GlobalTable at run time, on every worker).

    `registry()` reads it as it stands now, so a revocation or a removed domain counts at once."""

    def __init__(self, records: Mapping[str, Any]) -> None:
        self.records = records

    def registry(self) -> PartnerRegistry:
        return PartnerRegistry.from_records(list(self.records.items()))


def _requested_at(subscriber: Subscriber) -> str | None:
    if subscriber.is_staff:
        return None
    if subscriber.partner_request is not None:
        return subscriber.partner_request.at
    if subscriber.kind.value == "partner":
        return ""  # self-declared before the registry: pending until an officer decides
    return None


def check_domain(value: str) -> str:
    domain = value.strip().lower().rstrip(".")
    if not DOMAIN.match(domain):
        raise InvalidPartnerError([("domain", f"{value!r} is not a domain name like ngo.org")])
    if domain in PUBLIC_MAIL_DOMAINS:
        raise InvalidPartnerError(
            [("domain", f"{domain} is a public mail provider: anyone can have an address there")]
        )
    return domain


def organisation_from_dict(raw: Mapping[str, Any]) -> Organisation:
    """Build and check an organisation; every problem is named, with its field."""
    problems: list[tuple[str, str]] = []
    org_id = str(raw.get("id") or "")
    if not ORGANISATION_ID.match(org_id) or len(org_id) > 64:
        problems.append(("id", "lower-case letters, digits and dashes, at most 64 (e.g. unhcr)"))
    name = " ".join(str(raw.get("name") or "").split())
    if not name or len(name) > 200:
        problems.append(("name", "is required, at most 200 characters"))
    kind = OrganisationType.OTHER
    try:
        kind = OrganisationType(str(raw.get("kind") or ""))
    except ValueError:
        allowed = ", ".join(k.value for k in OrganisationType)
        problems.append(("kind", f"{raw.get('kind')!r} is not one of: {allowed}"))
    country = raw.get("country") or None
    if country is not None and not COUNTRY.match(str(country)):
        problems.append(("country", f"{country!r} is not an ISO 3166 code like SN or FR"))
    domains: set[str] = set()
    raw_domains = raw.get("domains") or []
    if not isinstance(raw_domains, list):
        problems.append(("domains", "must be a list of domain names"))
        raw_domains = []
    for index, value in enumerate(raw_domains):
        try:
            domains.add(check_domain(str(value)))
        except InvalidPartnerError as exc:
            problems.extend((f"domains[{index}]", message) for _f, message in exc.problems)
    status = OrganisationStatus.ACTIVE
    try:
        status = OrganisationStatus(str(raw.get("status") or OrganisationStatus.ACTIVE.value))
    except ValueError:
        problems.append(("status", "active or revoked"))
    if problems:
        raise InvalidPartnerError(problems)
    return Organisation(
        id=org_id,
        name=name,
        kind=kind,
        country=str(country) if country else None,
        domains=frozenset(domains),
        status=status,
        updated_at=str(raw.get("updated_at") or ""),
    )


def decision_from_dict(raw: Mapping[str, Any]) -> AccessDecision:
    problems: list[tuple[str, str]] = []
    decision = Decision.DECLINED
    try:
        decision = Decision(str(raw.get("decision") or ""))
    except ValueError:
        problems.append(("decision", "approved or declined"))
    organisation_id = raw.get("organisation_id") or None
    if decision is Decision.APPROVED and not organisation_id:
        problems.append(("organisation_id", "an approval names the partner organisation"))
    comment = str(raw.get("comment") or "")
    if len(comment) > MAX_COMMENT:
        problems.append(("comment", f"at most {MAX_COMMENT} characters"))
    if not raw.get("subscriber_id"):
        problems.append(("subscriber_id", "is required"))
    if problems:
        raise InvalidPartnerError(problems)
    return AccessDecision(
        subscriber_id=str(raw["subscriber_id"]),
        decision=decision,
        organisation_id=str(organisation_id) if organisation_id else None,
        comment=comment,
        by=str(raw.get("by") or ""),
        at=str(raw.get("at") or ""),
    )
