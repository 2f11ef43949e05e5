"""In-memory facet indexes over subscribers (bitmaps of ordinals), and who could see an event.

Each subscriber gets a small ordinal; each facet value (kind, status, department, region, country,
office, group, language, channel, email domain, and what their instant subscriptions follow) a
Roaring bitmap of the ordinals that have it. `candidates` intersects them into a superset of an
event's audience: the exact rules (hub.planning.audience) then run on those people only. The
index holds no table of its own and knows no partitions, so one can be kept per partition.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pyroaring import BitMap

from hub.model.events import Classification, Event
from hub.model.subscribers import Mode, Subscriber, SubscriberKind, SubscriberStatus
from hub.partners.registry import Decision, PartnerRegistry, email_domain, parent_domains

ANY = "*"  # a subscription that leaves a dimension open follows every value of it
# What an instant subscription follows, as facets, with the event's values for each.
FOLLOWS = ("follows_type", "follows_theme", "follows_region", "follows_country")
TARGETING = ("department", "region", "country", "office")
Facet = tuple[str, str]


def facets_of(subscriber: Subscriber) -> set[Facet]:
    """Every facet value one subscriber is indexed under."""
    found: set[Facet] = {
        ("kind", subscriber.kind.value),
        ("status", subscriber.status.value),
        ("language", subscriber.language),
    }
    for name in TARGETING:
        value = getattr(subscriber, name)
        if value is not None:
            found.add((name, value))
    found.update(("group", group) for group in subscriber.groups)
    found.update(("channel", channel) for channel in subscriber.channels)
    domain = email_domain(subscriber.email)
    if domain is not None:
        found.update(("domain", parent) for parent in parent_domains(domain))
    for subscription in subscriber.subscriptions:
        if subscription.mode is not Mode.INSTANT:
            continue  # digests wait for newsletters: never an instant recipient
        dimensions = (
            subscription.event_types,
            subscription.themes,
            subscription.regions,
            subscription.countries,
        )
        for name, values in zip(FOLLOWS, dimensions, strict=True):
            found.update((name, value) for value in values or (ANY,))
    return found


class FacetIndex:
    """Subscribers by ordinal, and a bitmap per facet value."""

    def __init__(self) -> None:
        self._ordinal: dict[str, int] = {}
        self._people: list[Subscriber | None] = []
        self._facets: dict[Facet, BitMap] = {}
        self._of: list[frozenset[Facet]] = []  # what each ordinal is indexed under now

    def __len__(self) -> int:
        return sum(1 for person in self._people if person is not None)

    def __iter__(self) -> Iterator[Subscriber]:
        return (person for person in self._people if person is not None)

    def ids(self) -> set[str]:
        return {person.id for person in self}

    def put(self, subscriber: Subscriber) -> None:
        ordinal = self._ordinal.get(subscriber.id)
        if ordinal is None:
            ordinal = self._ordinal[subscriber.id] = len(self._people)
            self._people.append(None)
            self._of.append(frozenset())
        facets = frozenset(facets_of(subscriber))
        old = self._of[ordinal]
        for facet in old - facets:
            self._facets[facet].discard(ordinal)
        for facet in facets - old:
            self._facets.setdefault(facet, BitMap()).add(ordinal)
        self._people[ordinal] = subscriber
        self._of[ordinal] = facets

    def drop(self, subscriber_id: str) -> None:
        ordinal = self._ordinal.get(subscriber_id)
        if ordinal is None:
            return
        for facet in self._of[ordinal]:
            self._facets[facet].discard(ordinal)
        self._people[ordinal] = None
        self._of[ordinal] = frozenset()

    def count(self, name: str, value: str) -> int:
        """How many subscribers have this facet value (free: a bitmap's cardinality)."""
        found = self._facets.get((name, value))
        return len(found) if found is not None else 0

    def candidates(self, event: Event, partners: PartnerRegistry) -> list[Subscriber]:
        """Everyone who could be in the event's audience (a superset), in ordinal order."""
        return [p for p in map(self._people.__getitem__, self._query(event, partners)) if p]

    def _query(self, event: Event, partners: PartnerRegistry) -> BitMap:
        active = self._get("status", SubscriberStatus.ACTIVE.value)
        staff = self._get("kind", SubscriberKind.STAFF.value)
        audience = event.audience
        if event.classification is Classification.RESTRICTED:
            named = BitMap(self._ordinal[p] for p in audience.people if p in self._ordinal)
            return active & staff & (named | self._any("group", audience.groups))
        if event.classification is Classification.STAFF:
            return self._targeted(active & staff, event)
        # Everyone else receives what an instant subscription of theirs covers.
        present = ({event.type}, event.tags.themes, event.tags.regions, event.tags.countries)
        pool = BitMap(active)
        for name, values in zip(FOLLOWS, present, strict=True):
            pool &= self._any(name, {ANY, *values})
        others = pool - staff
        if event.classification is Classification.PARTNERS:
            others &= self._partner_pool(partners)
        return self._targeted(pool & staff, event) | others

    def _targeted(self, staff: BitMap, event: Event) -> BitMap:
        audience = event.audience
        wanted = (audience.departments, audience.regions, audience.countries, audience.offices)
        for name, values in zip(TARGETING, wanted, strict=True):
            if values:
                staff &= self._any(name, values)
        return staff

    def _partner_pool(self, partners: PartnerRegistry) -> BitMap:
        """Who could be a partner now: on an active organisation's domain, or approved."""
        domains = {d for o in partners.organisations.values() if o.is_active for d in o.domains}
        approved = (
            self._ordinal[d.subscriber_id]
            for d in partners.decisions.values()
            if d.decision is Decision.APPROVED and d.subscriber_id in self._ordinal
        )
        return self._any("domain", domains) | BitMap(approved)

    def _get(self, name: str, value: str) -> BitMap:
        return self._facets.get((name, value)) or BitMap()

    def _any(self, name: str, values: Iterable[Any]) -> BitMap:
        return BitMap.union(BitMap(), *(self._get(name, str(value)) for value in values))
