"""Planned deliveries as the bytes their topic holds, sealed, with each one's planned outcome."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.model.deliveries import ChannelKey, Delivery, EventAt
from hub.model.outcomes import Outcome, OutcomeStatus
from hub.privacy.sealing import KeyLookup, sealed_json


@dataclass(frozen=True, slots=True)
class Encoded:
    """One delivery ready for its channel's deliveries topic."""

    channel: ChannelKey
    key: bytes
    value: bytes
    planned: Outcome


def recipient_ids(deliveries: Iterable[Delivery]) -> set[str]:
    return {delivery.recipient.id for delivery in deliveries}


def encode_deliveries(
    deliveries: Sequence[Delivery],
    event_at: EventAt,
    keys: Mapping[str, KeyLookup],
    now: datetime,
) -> list[Encoded]:
    """Each delivery's key and sealed value, byte for byte what the topic's codec writes.

    Pure work on immutable values with every recipient's key looked up beforehand (`keys`,
    by recipient id), so it can run off the event loop.
    """
    lookup = keys.__getitem__
    return [
        Encoded(
            channel=delivery.channel,
            key=delivery.recipient.id.encode(),
            value=sealed_json(delivery.as_message(event_at), lookup),
            planned=Outcome.of(delivery, OutcomeStatus.PLANNED, now),
        )
        for delivery in deliveries
    ]
