"""Event + recipients -> deliveries, each with a stable id. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hub.events import Event
from hub.languages import choose_language
from hub.subscribers import Subscriber


class ChannelKey(StrEnum):
    EMAIL = "email"
    TELEGRAM = "telegram"
    NEWSLETTER = "newsletter"


def delivery_id(event_id: str, channel: str, recipient_id: str) -> str:
    """Stable across retries, redelivery and re-planning: the ledger's key."""
    material = f"{event_id}\x1f{channel}\x1f{recipient_id}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Recipient:
    """What a channel needs to know about whom it sends to."""

    id: str
    name: str
    address: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "address": self.address}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One (event, recipient, channel) to send, in one language."""

    id: str
    event_id: str
    channel: ChannelKey
    language: str
    recipient: Recipient
    attempt: int = 0

    def as_message(self, event_document: dict[str, Any]) -> dict[str, Any]:
        """The Kafka value: self-contained, so a retry needs nothing else."""
        return {
            "id": self.id,
            "event_id": self.event_id,
            "channel": self.channel.value,
            "language": self.language,
            "recipient": self.recipient.as_dict(),
            "attempt": self.attempt,
            "event": event_document,
        }

    @classmethod
    def from_message(cls, value: dict[str, Any]) -> Delivery:
        return cls(
            id=value["id"],
            event_id=value["event_id"],
            channel=ChannelKey(value["channel"]),
            language=value["language"],
            recipient=Recipient(**value["recipient"]),
            attempt=int(value.get("attempt", 0)),
        )


def _address(subscriber: Subscriber, channel: ChannelKey) -> str | None:
    if channel is ChannelKey.EMAIL:
        return subscriber.email
    return None


def plan(
    event: Event, recipients: Iterable[Subscriber], *, default_language: str = "en"
) -> list[Delivery]:
    """One delivery per recipient and channel they can be reached on."""
    deliveries: list[Delivery] = []
    for subscriber in recipients:
        language = choose_language(subscriber.language, event.languages, default_language)
        for channel in sorted(ChannelKey):
            address = _address(subscriber, channel) if channel in subscriber.channels else None
            if address is None:
                continue
            deliveries.append(
                Delivery(
                    id=delivery_id(event.id, channel, subscriber.id),
                    event_id=event.id,
                    channel=channel,
                    language=language,
                    recipient=Recipient(subscriber.id, subscriber.name, address),
                )
            )
    return deliveries
