"""Who may see an event: classification, partner status, staff targeting, subscriptions, embargo.

One rule, `may_see`, decides for every reader: a recipient of an email, a Telegram message or a
newsletter, and a reader of an archive page or feed. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from hub.model.events import Audience, Classification, Event
from hub.model.subscribers import Mode, Subscriber, SubscriberKind, Subscription
from hub.partners.registry import EMPTY, PartnerRegistry

# Which standings each classification may ever reach; nothing overrides this.
ALLOWED_KINDS: dict[Classification, frozenset[SubscriberKind]] = {
    Classification.PUBLIC: frozenset(SubscriberKind),
    Classification.PARTNERS: frozenset({SubscriberKind.STAFF, SubscriberKind.PARTNER}),
    Classification.STAFF: frozenset({SubscriberKind.STAFF}),
    Classification.RESTRICTED: frozenset({SubscriberKind.STAFF}),
}


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads: a subscriber (a recipient, or the holder of their signed link), an officer
    (bearer token), or anyone at all (neither)."""

    subscriber: Subscriber | None = None
    officer: bool = False


ANYONE = Reader()
OFFICER = Reader(officer=True)


def standing(subscriber: Subscriber, partners: PartnerRegistry = EMPTY) -> SubscriberKind:
    """What someone counts as. Partner is granted by the registry, never read from the record:
    a record of kind `partner` without a grant counts as public."""
    if subscriber.is_staff:
        return SubscriberKind.STAFF
    if partners.is_partner(subscriber):
        return SubscriberKind.PARTNER
    if subscriber.kind is SubscriberKind.MEDIA:
        return SubscriberKind.MEDIA
    return SubscriberKind.PUBLIC


def clears(
    classification: Classification, reader: Reader, partners: PartnerRegistry = EMPTY
) -> bool:
    """May this reader see content of this classification at all (before any targeting)?"""
    if reader.officer:
        return True
    subscriber = reader.subscriber
    # Someone unsubscribed, offboarded or unconfirmed reads as anyone does.
    kind = (
        standing(subscriber, partners)
        if subscriber is not None and subscriber.is_active
        else SubscriberKind.PUBLIC
    )
    return kind in ALLOWED_KINDS[classification]


def may_see(event: Event, reader: Reader, partners: PartnerRegistry = EMPTY) -> bool:
    """The security rule: may this reader ever see this event, whatever they follow?"""
    if reader.officer:
        return True
    if not clears(event.classification, reader, partners):
        return False
    subscriber = reader.subscriber if reader.subscriber and reader.subscriber.is_active else None
    if event.classification is Classification.RESTRICTED:
        return subscriber is not None and _named_in(event.audience, subscriber)
    if subscriber is not None and subscriber.is_staff:
        return _matches_staff_targeting(event.audience, subscriber)
    return True


def may_receive(event: Event, subscriber: Subscriber, partners: PartnerRegistry = EMPTY) -> bool:
    """May this subscriber be sent this event? Unconfirmed and unsubscribed people get nothing."""
    return subscriber.is_active and may_see(event, Reader(subscriber), partners)


def covers(subscription: Subscription, event: Event) -> bool:
    """Does one subscription take in this event?"""
    return (
        _overlaps(subscription.event_types, {event.type})
        and _overlaps(subscription.themes, event.tags.themes)
        and _overlaps(subscription.regions, event.tags.regions)
        and _overlaps(subscription.countries, event.tags.countries)
    )


def instant_channels(event: Event, subscriber: Subscriber) -> frozenset[str]:
    """The channels on which the subscriber wants this event now (digests wait for newsletters)."""
    if subscriber.is_staff and event.classification in (
        Classification.STAFF,
        Classification.RESTRICTED,
    ):
        return subscriber.channels  # internal content is addressed to staff, not opted into
    found: set[str] = set()
    for subscription in subscriber.subscriptions:
        if subscription.mode is Mode.INSTANT and covers(subscription, event):
            found |= subscription.channels
    return frozenset(found)


def is_embargoed(event: Event, now: datetime) -> bool:
    return event.embargo_until is not None and now < event.embargo_until


@runtime_checkable
class Indexed(Protocol):
    """Subscribers with indexes (hub.subscribers.directory): who could be in an event's audience,
    a superset of it, so that the rules below run on those people only."""

    def candidates(self, event: Event, partners: PartnerRegistry) -> list[Subscriber]: ...


def audience_of(
    event: Event, subscribers: Iterable[Subscriber], partners: PartnerRegistry = EMPTY
) -> list[tuple[Subscriber, frozenset[str]]]:
    """Each recipient with the channels they get this event on (the planner's one call)."""
    if isinstance(subscribers, Indexed):
        subscribers = subscribers.candidates(event, partners)
    chosen = []
    for subscriber in subscribers:
        if may_receive(event, subscriber, partners):
            channels = instant_channels(event, subscriber)
            if channels:
                chosen.append((subscriber, channels))
    return chosen


def _named_in(audience: Audience, subscriber: Subscriber) -> bool:
    return subscriber.id in audience.people or bool(audience.groups & subscriber.groups)


def _matches_staff_targeting(audience: Audience, subscriber: Subscriber) -> bool:
    # Each targeting dimension the event sets must match; an unset dimension matches everyone.
    checks = (
        (audience.departments, subscriber.department),
        (audience.regions, subscriber.region),
        (audience.countries, subscriber.country),
        (audience.offices, subscriber.office),
    )
    return all(not wanted or value in wanted for wanted, value in checks)


def _overlaps(wanted: frozenset[str], present: Iterable[str]) -> bool:
    return not wanted or not wanted.isdisjoint(present)
