"""The partner registry without Kafka: organisations, domains, requests and officers' decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub.model.deliveries import PersonalLinks
from hub.model.subscribers import PartnerRequest, Subscriber, SubscriberKind, SubscriberStatus
from hub.partners.changes import partner_change
from hub.partners.commands import (
    add_domain,
    add_organisation,
    change_organisation,
    decide,
    decision_command,
    organisation_command,
    remove_domain,
    revoke,
)
from hub.partners.registry import Decision, InvalidPartnerError, PartnerRegistry, RequestState
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT
from hub.subscribers.directory import Directory
from tests.helpers import subscriber

NOW = "2026-11-30T10:00:00+00:00"
RENDERER = Renderer(REPO_ROOT / "templates")
NGO = {"id": "sahel-ngo", "name": "Sahel NGO", "kind": "ngo", "country": "SN"}


def registry_with(**organisation: object) -> PartnerRegistry:
    added = add_organisation(PartnerRegistry(), {**NGO, **organisation}, NOW)
    return PartnerRegistry({added.id: added})


def asking(person_id: str = "ext-1", **fields: Any) -> Subscriber:
    fields.setdefault("partner_request", PartnerRequest("Sahel NGO", "2026-11-29T00:00:00+00:00"))
    fields.setdefault("email", "ana@gmail.com")
    return subscriber(person_id, SubscriberKind.PUBLIC, **fields)


def test_an_organisation_names_every_problem() -> None:
    with pytest.raises(InvalidPartnerError) as refused:
        add_organisation(
            PartnerRegistry(),
            {"id": "Bad Id", "name": "", "kind": "club", "country": "sen", "domains": ["x", 3]},
            NOW,
        )
    fields = {field for field, _ in refused.value.problems}
    assert fields == {"id", "name", "kind", "country", "domains[0]", "domains[1]"}


def test_public_mail_providers_cannot_be_partner_domains() -> None:
    with pytest.raises(InvalidPartnerError, match="public mail provider"):
        add_organisation(PartnerRegistry(), {**NGO, "domains": ["Gmail.com"]}, NOW)


def test_a_domain_belongs_to_one_organisation() -> None:
    registry = registry_with(domains=["sahel-ngo.org"])
    with pytest.raises(InvalidPartnerError) as refused:
        add_organisation(registry, {**NGO, "id": "other", "domains": ["sahel-ngo.org"]}, NOW)
    assert refused.value.status == 409
    with pytest.raises(InvalidPartnerError):
        add_organisation(registry, NGO, NOW)  # the same id twice


def test_domains_grant_at_once_and_stop_granting_at_once() -> None:
    registry = registry_with(domains=["sahel-ngo.org"])
    person = subscriber("p", SubscriberKind.PUBLIC, email="ana@Dakar.Sahel-NGO.org")
    grant = registry.grant(person)
    assert grant is not None and grant.via == "domain" and grant.organisation.id == "sahel-ngo"
    added = add_domain(registry, "sahel-ngo", "sahel.example", NOW)
    assert added.domains == {"sahel-ngo.org", "sahel.example"}
    removed = remove_domain(registry, "sahel-ngo", "sahel-ngo.org", NOW)
    assert PartnerRegistry({removed.id: removed}).grant(person) is None
    revoked = revoke(registry, "sahel-ngo", NOW)
    assert PartnerRegistry({revoked.id: revoked}).grant(person) is None
    with pytest.raises(InvalidPartnerError) as missing:
        remove_domain(registry, "sahel-ngo", "not-there.org", NOW)
    assert missing.value.status == 404


def test_changes_keep_the_record_valid() -> None:
    registry = registry_with()
    changed = change_organisation(registry, "sahel-ngo", {"name": "Sahel Alliance"}, NOW)
    assert changed.name == "Sahel Alliance" and changed.kind.value == "ngo"
    with pytest.raises(InvalidPartnerError):
        change_organisation(registry, "sahel-ngo", {"domains": ["a.org"]}, NOW)
    with pytest.raises(InvalidPartnerError):
        change_organisation(registry, "sahel-ngo", {"kind": "club"}, NOW)


def test_requests_wait_for_an_officer_and_only_an_approval_grants() -> None:
    registry = registry_with()
    person = asking()
    assert registry.request_state(person) is RequestState.PENDING
    assert registry.grant(person) is None
    approval = decide(registry, person, Decision.APPROVED, "sahel-ngo", " Welcome ", "ofc", NOW)
    assert approval.comment == "Welcome"
    granted = PartnerRegistry(registry.organisations, {person.id: approval})
    assert granted.request_state(person) is RequestState.APPROVED
    grant = granted.grant(person)
    assert grant is not None and grant.via == "approval"


def test_an_approval_must_name_an_active_organisation() -> None:
    registry = registry_with()
    with pytest.raises(InvalidPartnerError):
        decide(registry, asking(), Decision.APPROVED, "nobody", "", "ofc", NOW)
    revoked = revoke(registry, "sahel-ngo", NOW)
    with pytest.raises(InvalidPartnerError):
        decide(
            PartnerRegistry({revoked.id: revoked}),
            asking(),
            Decision.APPROVED,
            "sahel-ngo",
            "",
            "ofc",
            NOW,
        )


def test_no_decision_without_a_confirmed_request() -> None:
    registry = registry_with()
    with pytest.raises(InvalidPartnerError) as none:
        decide(
            registry, subscriber("u", SubscriberKind.PUBLIC), Decision.DECLINED, None, "", "o", NOW
        )
    assert none.value.status == 404
    unconfirmed = asking(status=SubscriberStatus.PENDING)
    with pytest.raises(InvalidPartnerError) as pending:
        decide(registry, unconfirmed, Decision.DECLINED, None, "", "o", NOW)
    assert pending.value.status == 409


def test_self_declared_partners_from_before_the_registry_have_a_pending_request() -> None:
    legacy = subscriber("old", SubscriberKind.PARTNER, email="old@gmail.com")
    registry = registry_with()
    assert registry.request_state(legacy) is RequestState.PENDING
    assert registry.grant(legacy) is None


def test_asking_again_after_a_refusal_is_pending_again() -> None:
    registry = registry_with()
    person = asking()
    refusal = decide(registry, person, Decision.DECLINED, None, "", "ofc", NOW)
    declined = PartnerRegistry(registry.organisations, {person.id: refusal})
    assert declined.request_state(person) is RequestState.DECLINED
    again = person.with_changes(partner_request=PartnerRequest("Sahel NGO", "2026-12-01T00:00"))
    assert declined.request_state(again) is RequestState.PENDING


def test_the_registry_reads_back_what_was_written_and_skips_unreadable_records() -> None:
    registry = registry_with(domains=["sahel-ngo.org"])
    organisation = registry.organisations["sahel-ngo"]
    person = asking()
    approval = decide(registry, person, Decision.APPROVED, "sahel-ngo", "", "ofc", NOW)
    key, value = organisation_command(organisation, "registered", "ofc")
    access_key, access = decision_command(approval, "ofc")
    records = [
        (key.decode(), value["organisation"]),
        (access_key.decode(), access["decision"]),
        ("org:broken", {"id": "broken", "kind": "club"}),
        ("access:x", {"decision": "approved"}),
        ("something", {}),
    ]
    read = PartnerRegistry.from_records(records)
    assert set(read.organisations) == {"sahel-ngo"} and set(read.decisions) == {"ext-1"}
    assert read.grant(person) is not None


def links(subscriber_id: str) -> PersonalLinks:
    return PersonalLinks(f"https://hub/p/{subscriber_id}", "https://hub/u", "mailto:u")


@pytest.mark.parametrize(
    ("language", "decision", "words"),
    [
        ("fr", Decision.APPROVED, "accès partenaire a été acceptée"),
        ("es", Decision.DECLINED, "No hemos podido aprobar"),
        ("en", Decision.APPROVED, "has been approved"),
    ],
)
def test_the_person_is_told_the_outcome_in_their_language(
    language: str, decision: Decision, words: str
) -> None:
    registry = registry_with()
    person = asking(language=language)
    made = decide(
        registry, person, decision, "sahel-ngo" if decision is Decision.APPROVED else None,
        "<b>see you</b>", "ofc", NOW,
    )  # fmt: skip
    key, value = decision_command(made, "ofc")
    directory = Directory({person.id: person.to_dict()})
    change = partner_change(key.decode(), value, datetime.now(UTC), directory, RENDERER, links)
    assert change is not None and change.record == made.to_dict()
    assert change.audit["action"] == f"partner.access-{decision.value}"
    assert change.audit["actor"] == "ofc"
    [email] = change.emails
    assert email["recipient"]["address"] == "ana@gmail.com"
    assert email["language"] == language
    assert words in email["rendered"]["text"]
    assert "&lt;b&gt;see you&lt;/b&gt;" in email["rendered"]["html"]


def test_a_bad_record_changes_nothing_and_is_audited() -> None:
    change = partner_change(
        "org:x",
        {"actor": "cli", "organisation": {"id": "x"}},
        datetime.now(UTC),
        Directory({}),
        RENDERER,
        links,
    )
    assert change is not None
    assert change.record is None and not change.remove
    assert change.audit["action"] == "partner.rejected"
