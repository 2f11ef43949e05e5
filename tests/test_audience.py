"""Who sees what: classification is never overridden, partner status comes from the registry,
staff targeting holds, embargoes hold (the rules, case by case)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.model.subscribers import (
    Mode,
    OrganisationType,
    PartnerRequest,
    Subscriber,
    SubscriberKind,
    SubscriberStatus,
    Subscription,
)
from hub.partners.registry import (
    AccessDecision,
    Decision,
    Organisation,
    OrganisationStatus,
    PartnerRegistry,
)
from hub.planning import audience
from tests.helpers import EXAMPLES, event, subscriber

STAFF_UPDATE = EXAMPLES / "strategy.updated.v1" / "valid" / "strategic-plan-midterm-staff.json"
RESEARCH_EMBARGOED = (
    EXAMPLES / "research.released.v1" / "valid" / "climate-mobility-sahel-embargoed.json"
)
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
NGO = Organisation("ngo", "Sahel NGO", OrganisationType.NGO, "SN", frozenset({"ngo.org"}))
REGISTRY = PartnerRegistry({"ngo": NGO})


def ids(chosen: list[tuple[Subscriber, frozenset[str]]]) -> set[str]:
    return {s.id for s, _channels in chosen}


def test_staff_update_never_reaches_partners_media_or_public() -> None:
    update = event(STAFF_UPDATE, audience={})
    outsiders = [
        subscriber("p", SubscriberKind.PARTNER, email="p@ngo.org"),
        subscriber("m", SubscriberKind.MEDIA),
        subscriber("u", SubscriberKind.PUBLIC),
    ]
    assert audience.audience_of(update, outsiders, REGISTRY) == []
    assert ids(audience.audience_of(update, [subscriber("s", SubscriberKind.STAFF)])) == {"s"}


def test_partners_content_reaches_staff_and_registered_partners_only() -> None:
    news = event(classification="partners")
    people = [
        subscriber("staff", SubscriberKind.STAFF),
        subscriber("by-domain", SubscriberKind.PUBLIC, email="ana@ngo.org"),
        subscriber("by-subdomain", SubscriberKind.PUBLIC, email="ana@dakar.ngo.org"),
        subscriber("claimed", SubscriberKind.PARTNER, organisation="Sahel NGO"),
        subscriber("lookalike", SubscriberKind.PUBLIC, email="ana@evilngo.org"),
        subscriber("media", SubscriberKind.MEDIA),
    ]
    assert ids(audience.audience_of(news, people, REGISTRY)) == {
        "staff",
        "by-domain",
        "by-subdomain",
    }


def test_a_partner_record_without_a_grant_reads_as_public() -> None:
    claimed = subscriber("claimed", SubscriberKind.PARTNER, organisation="Ministry")
    assert audience.standing(claimed, REGISTRY) is SubscriberKind.PUBLIC
    assert audience.audience_of(event(classification="partners"), [claimed], REGISTRY) == []


def test_an_approved_request_lasts_while_the_organisation_is_active() -> None:
    person = subscriber(
        "asked",
        SubscriberKind.PUBLIC,
        email="ana@gmail.com",
        partner_request=PartnerRequest("Sahel NGO", "2026-11-01T00:00:00+00:00"),
    )
    approved = AccessDecision(
        "asked", Decision.APPROVED, "ngo", "", "officer", "2026-11-02T00:00:00+00:00"
    )
    news = event(classification="partners")
    granted = PartnerRegistry({"ngo": NGO}, {"asked": approved})
    assert ids(audience.audience_of(news, [person], granted)) == {"asked"}
    revoked = PartnerRegistry(
        {"ngo": Organisation(**{**_fields(NGO), "status": OrganisationStatus.REVOKED})},
        {"asked": approved},
    )
    assert audience.audience_of(news, [person], revoked) == []
    declined = PartnerRegistry(
        {"ngo": NGO}, {"asked": AccessDecision("asked", Decision.DECLINED, None, "", "o", "t")}
    )
    assert audience.audience_of(news, [person], declined) == []


def test_a_removed_domain_downgrades_its_people_at_once() -> None:
    person = subscriber("p", SubscriberKind.PUBLIC, email="ana@ngo.org")
    without = PartnerRegistry(
        {"ngo": Organisation(**{**_fields(NGO), "domains": frozenset({"other.org"})})}
    )
    news = event(classification="partners")
    assert ids(audience.audience_of(news, [person], REGISTRY)) == {"p"}
    assert audience.audience_of(news, [person], without) == []


def test_an_unconfirmed_address_on_a_partner_domain_is_not_a_partner() -> None:
    pending = subscriber(
        "p", SubscriberKind.PUBLIC, email="a@ngo.org", status=SubscriberStatus.PENDING
    )
    assert REGISTRY.grant(pending) is None
    assert REGISTRY.grant(pending.with_changes(status=SubscriberStatus.ACTIVE)) is not None


def test_restricted_reaches_only_named_groups_and_people() -> None:
    secret = event(
        STAFF_UPDATE,
        classification="restricted",
        audience={"groups": ["senior-management"], "people": ["s-named", "p-named"]},
    )
    people = [
        subscriber("s-in-group", SubscriberKind.STAFF, groups=frozenset({"senior-management"})),
        subscriber("s-named", SubscriberKind.STAFF),
        subscriber("s-other", SubscriberKind.STAFF, groups=frozenset({"drivers"})),
        subscriber("p-named", SubscriberKind.PUBLIC, email="p@ngo.org"),
        subscriber("p-in-group", SubscriberKind.PARTNER, groups=frozenset({"senior-management"})),
    ]
    assert ids(audience.audience_of(secret, people, REGISTRY)) == {"s-in-group", "s-named"}


def test_staff_targeting_by_department_region_and_office() -> None:
    update = event(STAFF_UPDATE, audience={"regions": ["west-africa"], "offices": ["Dakar"]})
    people = [
        subscriber("dakar", SubscriberKind.STAFF, region="west-africa", office="Dakar"),
        subscriber("abuja", SubscriberKind.STAFF, region="west-africa", office="Abuja"),
        subscriber("geneva", SubscriberKind.STAFF, region="europe", office="Geneva"),
    ]
    assert ids(audience.audience_of(update, people)) == {"dakar"}


def test_subscriptions_filter_by_theme_and_type() -> None:
    news = event()  # themes of the demo announcement include labour-migration
    theme = sorted(news.tags.themes)[0]
    fan = subscriber("fan", subscriptions=(Subscription(themes=frozenset({theme})),))
    other = subscriber("other", subscriptions=(Subscription(themes=frozenset({"nothing"})),))
    research_only = subscriber(
        "r", subscriptions=(Subscription(event_types=frozenset({"research.released"})),)
    )
    assert ids(audience.audience_of(news, [fan, other, research_only])) == {"fan"}


def test_unconfirmed_and_unsubscribed_people_get_nothing() -> None:
    people = [
        subscriber("pending", status=SubscriberStatus.PENDING),
        subscriber("gone", status=SubscriberStatus.UNSUBSCRIBED),
        subscriber("active"),
    ]
    assert ids(audience.audience_of(event(), people)) == {"active"}


def test_digest_subscriptions_wait_for_the_newsletter() -> None:
    digest = subscriber("d", subscriptions=(Subscription(mode=Mode.DIGEST),))
    assert audience.audience_of(event(), [digest]) == []


def test_staff_content_reaches_targeted_staff_whatever_they_follow() -> None:
    update = event(STAFF_UPDATE, audience={})
    picky = subscriber(
        "s",
        SubscriberKind.STAFF,
        subscriptions=(Subscription(event_types=frozenset({"research.released"})),),
    )
    assert ids(audience.audience_of(update, [picky])) == {"s"}


def test_embargo_holds_until_its_time() -> None:
    release = event(RESEARCH_EMBARGOED)
    assert release.embargo_until is not None
    assert audience.is_embargoed(release, release.embargo_until - timedelta(seconds=1))
    assert not audience.is_embargoed(release, release.embargo_until)
    assert not audience.is_embargoed(event(), datetime.now(UTC))


def _fields(organisation: Organisation) -> dict[str, Any]:
    return {name: getattr(organisation, name) for name in Organisation.__slots__}
