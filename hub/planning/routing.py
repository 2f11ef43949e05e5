"""Event + recipients -> deliveries, each with a stable id. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from hub.delivery.recipients import address_on
from hub.i18n.languages import DEFAULT_LANGUAGES, Languages
from hub.model.deliveries import ChannelKey, Delivery, PersonalLinks, Recipient, delivery_id
from hub.model.events import Classification, Event
from hub.model.subscribers import Subscriber, SubscriberKind
from hub.planning import audience


def transactional(
    purpose: str, nonce: str, subscriber: Subscriber, rendered: dict[str, str]
) -> dict[str, Any]:
    """A one-off email to one person (a confirmation, a notice), already rendered."""
    assert subscriber.email is not None
    delivery = Delivery(
        id=delivery_id(f"{purpose}:{nonce}", ChannelKey.EMAIL, subscriber.id),
        event_id=f"subscriber:{subscriber.id}",
        channel=ChannelKey.EMAIL,
        language=subscriber.language,
        recipient=Recipient(subscriber.id, subscriber.name, subscriber.email),
    )
    return delivery.record(None, rendered).dump()


def broadcasts(
    event: Event,
    public_channels: Iterable[str],
    staff_groups: Iterable[str],
    *,
    languages: Languages = DEFAULT_LANGUAGES,
) -> list[Delivery]:
    """Posts to configured Telegram channels and groups: public events to public channels,
    staff-wide internal events to staff-only groups, nothing else anywhere.

    A public channel reads as anyone does and a staff group as a staff member with no department,
    region, country or office, through the same rule as every recipient (`audience.may_see`)."""
    if audience.may_see(event, audience.ANYONE):
        destinations = list(public_channels)
    elif event.classification is Classification.STAFF and audience.may_see(
        event, audience.Reader(_ANY_STAFF_MEMBER)
    ):
        destinations = list(staff_groups)
    else:
        return []
    language = languages.choose(languages.default, event.languages)
    return [
        Delivery(
            id=delivery_id(event.id, ChannelKey.TELEGRAM, f"telegram:{chat}"),
            event_id=event.id,
            channel=ChannelKey.TELEGRAM,
            language=language,
            recipient=Recipient(f"telegram:{chat}", chat, chat),
        )
        for chat in destinations
    ]


# Everyone in a staff group, as far as targeting knows: no department, region, country or office.
_ANY_STAFF_MEMBER = Subscriber(id="staff-group", kind=SubscriberKind.STAFF, name="", language="en")


def plan(
    event: Event,
    recipients: Iterable[Subscriber | tuple[Subscriber, frozenset[str]]],
    *,
    languages: Languages = DEFAULT_LANGUAGES,
    links: Callable[[str], PersonalLinks] | None = None,
) -> list[Delivery]:
    """One delivery per recipient and channel they can be reached on."""
    deliveries: list[Delivery] = []
    for item in recipients:
        subscriber, channels = item if isinstance(item, tuple) else (item, item.channels)
        language = languages.choose(subscriber.language, event.languages)
        for channel in sorted(ChannelKey):
            address = address_on(subscriber, channel) if channel in channels else None
            if address is None:
                continue
            deliveries.append(
                Delivery(
                    id=delivery_id(event.id, channel, subscriber.id),
                    event_id=event.id,
                    channel=channel,
                    language=language,
                    recipient=Recipient(subscriber.id, subscriber.name, address),
                    links=links(subscriber.id) if links else None,
                )
            )
    return deliveries
