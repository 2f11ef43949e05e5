"""Who may receive an event: classification, staff targeting, subscriptions and embargo. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from hub.events import Audience, Classification, Event
from hub.subscribers import Subscriber, SubscriberKind

# Which kinds of subscriber each classification may ever reach; nothing overrides this.
ALLOWED_KINDS: dict[Classification, frozenset[SubscriberKind]] = {
    Classification.PUBLIC: frozenset(SubscriberKind),
    Classification.PARTNERS: frozenset({SubscriberKind.STAFF, SubscriberKind.PARTNER}),
    Classification.STAFF: frozenset({SubscriberKind.STAFF}),
    Classification.RESTRICTED: frozenset({SubscriberKind.STAFF}),
}


def may_receive(event: Event, subscriber: Subscriber) -> bool:
    """The security rule: may this subscriber ever see this event, whatever they follow?"""
    if subscriber.kind not in ALLOWED_KINDS[event.classification]:
        return False
    if event.classification is Classification.RESTRICTED:
        return _named_in(event.audience, subscriber)
    if subscriber.is_staff:
        return _matches_staff_targeting(event.audience, subscriber)
    return True


def follows(event: Event, subscriber: Subscriber) -> bool:
    """Does the subscriber's subscription cover this event? Staff targeted by an event always do."""
    if subscriber.is_staff and event.classification in (
        Classification.STAFF,
        Classification.RESTRICTED,
    ):
        return True  # internal content is addressed to staff, not opted into
    wanted = subscriber.follows
    return (
        _overlaps(wanted.event_types, {event.type})
        and _overlaps(wanted.themes, event.tags.themes)
        and _overlaps(wanted.regions, event.tags.regions)
        and _overlaps(wanted.countries, event.tags.countries)
    )


def is_embargoed(event: Event, now: datetime) -> bool:
    return event.embargo_until is not None and now < event.embargo_until


def recipients(event: Event, subscribers: Iterable[Subscriber]) -> list[Subscriber]:
    """Everyone who should get this event now (embargo is decided by the caller's clock)."""
    return [s for s in subscribers if may_receive(event, s) and follows(event, s)]


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
