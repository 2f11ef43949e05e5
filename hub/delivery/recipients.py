"""Whom a delivery planned by reference goes to: looked up when it is sent. Pure.

A roster names each recipient by subscriber id (hub.model.deliveries). The worker that sends
reads the subscriber as they are at that moment: their address on the channel, their name, and
their own links, signed now. Someone erased since reads as erased (the dispatcher's few quick
retries cover a record still on its way to this worker); someone who unsubscribed or no longer
has an address on the channel is not sent anything, and the outcome says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Protocol

from hub.model.deliveries import BY_REFERENCE, ChannelKey, PersonalLinks
from hub.model.subscribers import Subscriber
from hub.privacy.sealing import ERASED

# Set on a message that is not to be sent any more, with the reason (no address or name in it).
WITHDRAWN = "withdrawn"


def address_on(subscriber: Subscriber, channel: ChannelKey) -> str | None:
    """Where the subscriber is reached on a channel, if anywhere."""
    if channel is ChannelKey.EMAIL:
        return subscriber.email
    if channel is ChannelKey.TELEGRAM and subscriber.telegram_chat_id is not None:
        return str(subscriber.telegram_chat_id)
    return None


class LinksFor(Protocol):
    """Makes a person's own links (hub.rendering.links.LinkMaker.for_subscriber)."""

    def __call__(self, subscriber_id: str, language: str | None = None) -> PersonalLinks: ...


class Recipients:
    """Turns a message by reference into a complete one (or one marked erased or withdrawn)."""

    def __init__(
        self,
        find: Callable[[str], Subscriber | None],
        links: LinksFor,
    ) -> None:
        self.find = find
        self.links = links

    def resolve(self, message: dict[str, Any]) -> dict[str, Any]:
        rest = {name: value for name, value in message.items() if name != BY_REFERENCE}
        recipient = message.get("recipient")
        recipient_id = recipient.get("id") if isinstance(recipient, dict) else None
        try:
            channel = ChannelKey(str(message.get("channel")))
        except ValueError:
            channel = None
        if not isinstance(recipient_id, str) or channel is None:
            return rest  # not a delivery: the dispatcher names what is wrong with it
        subscriber = self.find(recipient_id)
        if subscriber is None:  # still by reference: a retry looks them up again
            return {**message, ERASED: True}
        if not subscriber.is_active:
            return {**rest, WITHDRAWN: "no longer subscribed when it was to be sent"}
        address = address_on(subscriber, channel)
        if address is None:
            return {**rest, WITHDRAWN: f"no {channel} address any more"}
        return {
            **rest,
            "recipient": {"id": recipient_id, "name": subscriber.name, "address": address},
            # Signed with their language: the pages the links open speak it.
            "links": asdict(self.links(recipient_id, subscriber.language)),
        }
