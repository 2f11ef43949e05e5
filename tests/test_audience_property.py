"""Who sees what, as a property: for every delivery, newsletter, archive page and feed, through
the functions production calls, nobody sees anything outside the audience the rules give."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.model.deliveries import PersonalLinks
from hub.model.events import Classification, Event
from hub.model.subscribers import (
    Mode,
    OrganisationType,
    PartnerRequest,
    Subscriber,
    SubscriberKind,
    SubscriberStatus,
    Subscription,
    subscriber_from_dict,
)
from hub.newsletters.archive import archive_record, atom_feed, edition_page
from hub.newsletters.config import load_newsletters
from hub.newsletters.editions import may_open, plan_edition
from hub.partners.registry import (
    AccessDecision,
    Decision,
    Organisation,
    OrganisationStatus,
    PartnerRegistry,
)
from hub.planning import routing
from hub.planning.audience import ANYONE, OFFICER, Reader, audience_of
from hub.planning.planner import plan_event
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT
from hub.subscribers.directory import Directory
from tests.helpers import load_example

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


# The property: events x subscribers x registry x channels x newsletters x pages.

RENDERER = Renderer(REPO_ROOT / "templates")
NEWSLETTERS = load_newsletters(REPO_ROOT / "devstack" / "demo" / "newsletters.yaml")
REGIONAL = NEWSLETTERS["staff-weekly"].model_copy(update={"name": "staff-wa", "region": "wa"})
ALL_NEWSLETTERS = [*NEWSLETTERS.values(), REGIONAL]
PUBLIC_CHANNEL, STAFF_GROUP = "@public-news", "-100123"
DOMAINS = ["ngo.org", "field.ngo.org", "gov.sn", "gmail.com"]
SMALL = ["a", "b"]
REGIONS = ["wa", "eu"]


def links(subscriber_id: str) -> PersonalLinks:
    return PersonalLinks(f"https://hub/p/{subscriber_id}", f"https://hub/u/{subscriber_id}", "m")


def is_partner_by_spec(person: Subscriber, registry: PartnerRegistry) -> bool:
    """The rule, written out plainly: a confirmed external address on an active organisation's
    domain (or a subdomain), or an approval naming an active organisation."""
    if person.kind is SubscriberKind.STAFF or person.status is SubscriberStatus.PENDING:
        return False
    domain = (person.email or "@").split("@")[1]
    for org in registry.organisations.values():
        if org.status is OrganisationStatus.ACTIVE and any(
            domain == d or domain.endswith("." + d) for d in org.domains
        ):
            return True
    decision = registry.decisions.get(person.id)
    if decision is None or decision.decision is not Decision.APPROVED:
        return False
    org = registry.organisations.get(decision.organisation_id or "")
    return org is not None and org.status is OrganisationStatus.ACTIVE


def sees_by_spec(news: Event, person: Subscriber | None, registry: PartnerRegistry) -> bool:
    if person is None or person.status is not SubscriberStatus.ACTIVE:
        return news.classification is Classification.PUBLIC
    staff = person.kind is SubscriberKind.STAFF
    partner = is_partner_by_spec(person, registry)
    targeting = news.audience
    on_target = all(
        not wanted or value in wanted
        for wanted, value in (
            (targeting.departments, person.department),
            (targeting.regions, person.region),
            (targeting.countries, person.country),
            (targeting.offices, person.office),
        )
    )
    if news.classification is Classification.RESTRICTED:
        return staff and (person.id in targeting.people or bool(targeting.groups & person.groups))
    allowed = {
        Classification.PUBLIC: True,
        Classification.PARTNERS: staff or partner,
        Classification.STAFF: staff,
    }[news.classification]
    return allowed and (not staff or on_target)


people_st = st.lists(
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(list(SubscriberKind)),
            # Mostly active people, so every branch of the rule meets many readers.
            "status": st.sampled_from([SubscriberStatus.ACTIVE] * 3 + list(SubscriberStatus)),
            "domain": st.sampled_from(DOMAINS),
            "department": st.sampled_from([None, *SMALL]),
            "region": st.sampled_from([None, *REGIONS]),
            "groups": st.frozensets(st.sampled_from(SMALL), max_size=2),
            "telegram": st.booleans(),
            "mode": st.sampled_from(list(Mode)),
            "follows": st.sampled_from(["everything", "other-type"]),
            "requested": st.booleans(),
            "decision": st.sampled_from([None, "approved-ngo", "approved-gov", "declined"]),
        }
    ),
    min_size=1,
    max_size=10,
)


def build_people(drawn: list[dict[str, Any]]) -> tuple[list[Subscriber], dict[str, Any]]:
    people, decisions = [], {}
    for i, d in enumerate(drawn):
        person_id = f"{d['kind'].value}-{i}"
        channels = frozenset({"email", "telegram"} if d["telegram"] else {"email"})
        types = frozenset() if d["follows"] == "everything" else frozenset({"research.released"})
        people.append(
            Subscriber(
                id=person_id,
                kind=d["kind"],
                name=person_id,
                language="en",
                email=f"{person_id}@{d['domain']}",
                telegram_chat_id=1000 + i if d["telegram"] else None,
                department=d["department"],
                region=d["region"],
                groups=d["groups"],
                status=d["status"],
                subscriptions=(Subscription(event_types=types, channels=channels, mode=d["mode"]),),
                partner_request=PartnerRequest("Some org", "2026-11-01T00:00:00+00:00")
                if d["requested"]
                else None,
            )
        )
        if d["decision"]:
            verdict, _, org = d["decision"].partition("-")
            decisions[person_id] = AccessDecision(
                person_id, Decision(verdict), org or None, "", "officer", "2026-11-02T00:00:00"
            )
    return people, decisions


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    classification=st.sampled_from(list(Classification)),
    drawn=people_st,  # ids look like "<kind>-<i>"; named people are drawn from them
    named=st.sets(st.integers(min_value=0, max_value=4), min_size=1, max_size=3),
    groups=st.frozensets(st.sampled_from(SMALL), max_size=2),
    departments=st.frozensets(st.sampled_from(SMALL), max_size=1),
    regions=st.frozensets(st.sampled_from(REGIONS), max_size=1),
    ngo_status=st.sampled_from(list(OrganisationStatus)),
    gov_status=st.sampled_from(list(OrganisationStatus)),
)
def test_no_channel_newsletter_page_or_feed_shows_anything_outside_its_audience(
    classification: Classification,
    drawn: list[dict[str, Any]],
    named: set[int],
    groups: frozenset[str],
    departments: frozenset[str],
    regions: frozenset[str],
    ngo_status: OrganisationStatus,
    gov_status: OrganisationStatus,
) -> None:
    people, decisions = build_people(drawn)
    registry = PartnerRegistry(
        {
            "ngo": Organisation(
                "ngo", "NGO", OrganisationType.NGO, None, frozenset({"ngo.org"}), ngo_status
            ),
            "gov": Organisation(
                "gov", "Gov", OrganisationType.GOVERNMENT, "SN", frozenset({"gov.sn"}), gov_status
            ),
        },
        decisions,
    )
    # Named people are drawn from the real ids, so the named-person branch runs.
    person_ids = [p.id for p in people]
    targeting: dict[str, Any] = (
        {
            "groups": sorted(groups or {"a"}),
            "people": sorted(person_ids[i] for i in named if i < len(person_ids)),
        }
        if classification is Classification.RESTRICTED
        else {"departments": sorted(departments), "regions": sorted(regions)}
    )
    title = f"ITEM {uuid.uuid4().hex}"
    document = load_example(classification=classification.value, audience=targeting)
    document["content"] = {"en": {**document["content"]["en"], "title": title}}
    news = Event.from_document(document)

    # Instant channels and broadcasts, as the planner agent calls them.
    result = plan_event(
        document,
        people,
        {},
        NOW,
        links=links,
        broadcast=lambda e: routing.broadcasts(e, [PUBLIC_CHANNEL], [STAFF_GROUP]),
        partners=registry,
    )
    by_id = {p.id: p for p in people}
    reached: set[tuple[str, str]] = set()
    for delivery in result.deliveries:
        rid = delivery.recipient.id
        if rid == f"telegram:{PUBLIC_CHANNEL}":
            assert classification is Classification.PUBLIC
            continue
        if rid == f"telegram:{STAFF_GROUP}":
            assert classification is Classification.STAFF and not departments and not regions
            continue
        assert by_id[rid].status is SubscriberStatus.ACTIVE
        assert sees_by_spec(news, by_id[rid], registry), (rid, delivery.channel)
        reached.add((rid, delivery.channel.value))
    # ... and nobody in the audience who asked for it now is left out.
    for person in people:
        if person.status is not SubscriberStatus.ACTIVE or not sees_by_spec(news, person, registry):
            continue
        internal = person.kind is SubscriberKind.STAFF and classification in (
            Classification.STAFF,
            Classification.RESTRICTED,
        )
        subscription = person.subscriptions[0]
        wants_now = subscription.mode is Mode.INSTANT and not subscription.event_types
        if internal or wants_now:
            assert (person.id, "email") in reached, person.id

    # Newsletters: each edition's emails, and its archive pages and feed for every reader.
    for newsletter in ALL_NEWSLETTERS:
        plan = plan_edition(
            newsletter,
            f"{newsletter.name}-1",
            NOW,
            [news],
            {},
            people,
            RENDERER,
            links,
            partners=registry,
        )
        for message in plan.deliveries:
            person = by_id[message["recipient"]["id"]]
            assert person.status is SubscriberStatus.ACTIVE
            assert sees_by_spec(news, person, registry), (newsletter.name, person.id)
            assert title in message["rendered"]["html"]
        record = archive_record(newsletter, f"{newsletter.name}-1", NOW, plan, NOW)
        ceiling = {
            "public": Classification.PUBLIC,
            "partners": Classification.PARTNERS,
            "staff": Classification.STAFF,
        }[newsletter.audience.value]
        for person in [None, *people]:
            reader = Reader(person) if person is not None else ANYONE
            opens = may_open(newsletter, reader, registry)
            probe = news.document | {"classification": ceiling.value, "audience": {}}
            assert opens == sees_by_spec(Event.from_document(probe), person, registry)
            if not opens:
                continue
            allowed = bool(plan.items) and sees_by_spec(news, person, registry)
            page = edition_page(RENDERER, newsletter, record, "en", reader, registry)
            assert page is not None
            assert (title in page) == allowed, (newsletter.name, person and person.id)
            feed = atom_feed(newsletter, [record], "https://hub", reader, registry)
            assert (title in feed) == allowed
        officer_page = edition_page(RENDERER, newsletter, record, "en", OFFICER, registry)
        assert officer_page is not None and (title in officer_page) == bool(plan.items)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    classification=st.sampled_from(list(Classification)),
    drawn=people_st,
    named=st.sets(st.integers(min_value=0, max_value=4), max_size=3),
    groups=st.frozensets(st.sampled_from(SMALL), max_size=2),
    departments=st.frozensets(st.sampled_from(SMALL), max_size=2),
    regions=st.frozensets(st.sampled_from(REGIONS), max_size=2),
    tag_regions=st.frozensets(st.sampled_from(REGIONS), max_size=2),
    follows=st.lists(
        st.fixed_dictionaries(
            {
                "regions": st.frozensets(st.sampled_from(REGIONS), max_size=1),
                "themes": st.frozensets(st.sampled_from(["partnerships", "other"]), max_size=1),
                "mode": st.sampled_from(list(Mode)),
                "channels": st.sampled_from([{"email"}, {"telegram"}, {"email", "telegram"}]),
            }
        ),
        max_size=2,
    ),
    ngo_status=st.sampled_from(list(OrganisationStatus)),
    changes=st.lists(st.tuples(st.integers(min_value=0, max_value=9), st.booleans()), max_size=4),
)
def test_the_indexed_audience_is_the_audience_the_rules_give_everyone(
    classification: Classification,
    drawn: list[dict[str, Any]],
    named: set[int],
    groups: frozenset[str],
    departments: frozenset[str],
    regions: frozenset[str],
    tag_regions: frozenset[str],
    follows: list[dict[str, Any]],
    ngo_status: OrganisationStatus,
    changes: list[tuple[int, bool]],
) -> None:
    """The directory's indexes narrow the people the rules run on, and change nothing: for every
    event, registry and history of changes (edits, erasures), the audience is the one the plain
    rules give when run on everyone."""
    people, decisions = build_people(drawn)
    for i, person in enumerate(people):
        if i < len(follows):  # varied subscriptions, so every followed dimension is exercised
            f = follows[i]
            extra = Subscription(
                themes=f["themes"],
                regions=f["regions"],
                channels=frozenset(f["channels"]),
                mode=f["mode"],
            )
            people[i] = person.with_changes(subscriptions=(*person.subscriptions, extra))
    registry = PartnerRegistry(
        {
            "ngo": Organisation(
                "ngo", "NGO", OrganisationType.NGO, None, frozenset({"ngo.org"}), ngo_status
            ),
            "gov": Organisation(
                "gov", "Gov", OrganisationType.GOVERNMENT, "SN", frozenset({"gov.sn"})
            ),
        },
        decisions,
    )
    table: dict[str, Any] = {p.id: p.to_dict() for p in people}
    directory = Directory(table)
    directory.current()  # built, then kept current by note() alone
    for index, erase in changes:
        if index >= len(people):
            continue
        person = people[index]
        if erase:
            table.pop(person.id, None)
            directory.note(person.id, None)
        else:  # moved to another region
            moved = person.with_changes(
                region="eu" if person.region != "eu" else "wa",
                updated_at=f"changed-{uuid.uuid4().hex}",
            )
            table[person.id] = moved.to_dict()
            directory.note(person.id, table[person.id])
    everyone = [subscriber_from_dict(raw) for raw in table.values()]
    person_ids = [p.id for p in people]
    targeting: dict[str, Any] = (
        {
            "groups": sorted(groups),
            "people": sorted(person_ids[i] for i in named if i < len(person_ids)),
        }
        if classification is Classification.RESTRICTED
        else {"departments": sorted(departments), "regions": sorted(regions)}
    )
    document = load_example(classification=classification.value, audience=targeting)
    document["tags"] = {**document.get("tags", {}), "regions": sorted(tag_regions)}
    news = Event.from_document(document)

    def plain(chosen: list[tuple[Subscriber, frozenset[str]]]) -> set[tuple[str, frozenset[str]]]:
        return {(s.id, channels) for s, channels in chosen}

    indexed = audience_of(news, directory, registry)
    assert plain(indexed) == plain(audience_of(news, everyone, registry))
    assert len(indexed) == len(plain(indexed))  # nobody twice
