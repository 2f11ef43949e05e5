"""Who may receive an event: classification, staff targeting, subscriptions and embargo. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from hub.events import Audience, Classification, Event
from hub.subscribers import Mode, Subscriber, SubscriberKind, Subscription

# Which kinds of subscriber each classification may ever reach; nothing overrides this.
ALLOWED_KINDS: dict[Classification, frozenset[SubscriberKind]] = {
    Classification.PUBLIC: frozenset(SubscriberKind),
    Classification.PARTNERS: frozenset({SubscriberKind.STAFF, SubscriberKind.PARTNER}),
    Classification.STAFF: frozenset({SubscriberKind.STAFF}),
    Classification.RESTRICTED: frozenset({SubscriberKind.STAFF}),
}


def may_receive(event: Event, subscriber: Subscriber) -> bool:
    """The security rule: may this subscriber ever see this event, whatever they follow?"""
    if not subscriber.is_active:
        return False  # unconfirmed and unsubscribed people get nothing
    if subscriber.kind not in ALLOWED_KINDS[event.classification]:
        return False
    if event.classification is Classification.RESTRICTED:
        return _named_in(event.audience, subscriber)
    if subscriber.is_staff:
        return _matches_staff_targeting(event.audience, subscriber)
    return True


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


def follows(event: Event, subscriber: Subscriber) -> bool:
    return bool(instant_channels(event, subscriber))


def is_embargoed(event: Event, now: datetime) -> bool:
    return event.embargo_until is not None and now < event.embargo_until


def recipients(event: Event, subscribers: Iterable[Subscriber]) -> list[Subscriber]:
    """Everyone who should get this event now (embargo is decided by the caller's clock)."""
    return [s for s in subscribers if may_receive(event, s) and follows(event, s)]


def audience_of(
    event: Event, subscribers: Iterable[Subscriber]
) -> list[tuple[Subscriber, frozenset[str]]]:
    """Each recipient with the channels they get this event on."""
    chosen = []
    for subscriber in subscribers:
        if may_receive(event, subscriber):
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
