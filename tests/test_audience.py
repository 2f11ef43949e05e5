"""Who receives what: classification is never overridden; staff targeting; subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hub import audience
from hub.events import Classification
from hub.subscribers import Mode, SubscriberKind, SubscriberStatus, Subscription
from tests.helpers import EXAMPLES, event, subscriber

STAFF_UPDATE = EXAMPLES / "strategy.updated.v1" / "valid" / "strategic-plan-midterm-staff.json"
RESEARCH_EMBARGOED = (
    EXAMPLES / "research.released.v1" / "valid" / "climate-mobility-sahel-embargoed.json"
)


def test_staff_update_never_reaches_partners_media_or_public() -> None:
    update = event(STAFF_UPDATE, audience={})
    outsiders = [
        subscriber("p", SubscriberKind.PARTNER),
        subscriber("m", SubscriberKind.MEDIA),
        subscriber("u", SubscriberKind.PUBLIC),
    ]
    assert audience.recipients(update, outsiders) == []
    assert audience.recipients(update, [subscriber("s", SubscriberKind.STAFF)])[0].id == "s"


def test_partners_content_reaches_staff_and_partners_but_not_the_public() -> None:
    news = event(classification="partners")
    people = [subscriber(k.value, k) for k in SubscriberKind]
    assert {s.id for s in audience.recipients(news, people)} == {"staff", "partner"}


def test_restricted_reaches_only_named_groups_and_people() -> None:
    secret = event(
        STAFF_UPDATE,
        classification="restricted",
        audience={"groups": ["senior-management"], "people": ["s-named"]},
    )
    people = [
        subscriber("s-in-group", SubscriberKind.STAFF, groups=frozenset({"senior-management"})),
        subscriber("s-named", SubscriberKind.STAFF),
        subscriber("s-other", SubscriberKind.STAFF, groups=frozenset({"drivers"})),
        subscriber("p-in-group", SubscriberKind.PARTNER, groups=frozenset({"senior-management"})),
    ]
    assert {s.id for s in audience.recipients(secret, people)} == {"s-in-group", "s-named"}


def test_staff_targeting_by_department_region_and_office() -> None:
    update = event(STAFF_UPDATE, audience={"regions": ["west-africa"], "offices": ["Dakar"]})
    people = [
        subscriber("dakar", SubscriberKind.STAFF, region="west-africa", office="Dakar"),
        subscriber("abuja", SubscriberKind.STAFF, region="west-africa", office="Abuja"),
        subscriber("geneva", SubscriberKind.STAFF, region="europe", office="Geneva"),
    ]
    assert [s.id for s in audience.recipients(update, people)] == ["dakar"]


def test_partner_subscription_filters_by_theme_and_type() -> None:
    news = event()  # themes of the demo announcement include labour-migration
    theme = sorted(news.tags.themes)[0]
    fan = subscriber("fan", subscriptions=(Subscription(themes=frozenset({theme})),))
    other = subscriber("other", subscriptions=(Subscription(themes=frozenset({"nothing"})),))
    research_only = subscriber(
        "r", subscriptions=(Subscription(event_types=frozenset({"research.released"})),)
    )
    assert [s.id for s in audience.recipients(news, [fan, other, research_only])] == ["fan"]


def test_unconfirmed_and_unsubscribed_people_get_nothing() -> None:
    news = event()
    people = [
        subscriber("pending", status=SubscriberStatus.PENDING),
        subscriber("gone", status=SubscriberStatus.UNSUBSCRIBED),
        subscriber("active"),
    ]
    assert [s.id for s in audience.recipients(news, people)] == ["active"]


def test_digest_subscriptions_wait_for_the_newsletter() -> None:
    news = event()
    digest = subscriber("d", subscriptions=(Subscription(mode=Mode.DIGEST),))
    assert audience.recipients(news, [digest]) == []


def test_staff_content_reaches_targeted_staff_whatever_they_follow() -> None:
    update = event(STAFF_UPDATE, audience={})
    picky = subscriber(
        "s",
        SubscriberKind.STAFF,
        subscriptions=(Subscription(event_types=frozenset({"research.released"})),),
    )
    assert audience.recipients(update, [picky]) == [picky]


def test_embargo_holds_until_its_time() -> None:
    release = event(RESEARCH_EMBARGOED)
    assert release.embargo_until is not None
    assert audience.is_embargoed(release, release.embargo_until - timedelta(seconds=1))
    assert not audience.is_embargoed(release, release.embargo_until)
    assert not audience.is_embargoed(event(), datetime.now(UTC))


kinds = st.sampled_from(list(SubscriberKind))
names = st.sampled_from(["a", "b", "c"])


@given(
    classification=st.sampled_from(list(Classification)),
    groups=st.frozensets(names, max_size=2),
    people=st.frozensets(names, max_size=2),
    departments=st.frozensets(names, max_size=2),
    population=st.lists(
        st.tuples(kinds, names, st.frozensets(names, max_size=2), st.frozensets(names, max_size=3)),
        max_size=12,
    ),
)
def test_no_subscription_can_override_classification(
    classification: Classification,
    groups: frozenset[str],
    people: frozenset[str],
    departments: frozenset[str],
    population: list[tuple[SubscriberKind, str, frozenset[str], frozenset[str]]],
) -> None:
    restricted_audience = {"groups": sorted(groups or {"a"}), "people": sorted(people)}
    news = event(
        classification=classification.value,
        audience=restricted_audience
        if classification is Classification.RESTRICTED
        else {"departments": sorted(departments)},
    )
    subscribers = [
        subscriber(
            f"{kind.value}-{i}-{name}",
            kind,
            department=name,
            groups=sub_groups,
            subscriptions=(
                Subscription(event_types=frozenset({news.type}), themes=themes & news.tags.themes),
            ),
        )
        for i, (kind, name, sub_groups, themes) in enumerate(population)
    ]
    for chosen in audience.recipients(news, subscribers):
        if classification in (Classification.STAFF, Classification.RESTRICTED):
            assert chosen.kind is SubscriberKind.STAFF
        if classification is Classification.PARTNERS:
            assert chosen.kind in (SubscriberKind.STAFF, SubscriberKind.PARTNER)
        if classification is Classification.RESTRICTED:
            assert chosen.id in news.audience.people or chosen.groups & news.audience.groups
