"""Planned deliveries as the records their topics hold, grouped by the partition of each
recipient, with each delivery's planned outcome. Pure.

Subscribers are named by id in rosters (nothing about them is written, nothing signed: the sender
looks them up); configured destinations, which are not subscribers, go as sealed batches."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hub.kafka.partitioning import partition_of
from hub.model.deliveries import BATCH, ChannelKey, Delivery, EventAt, roster_value
from hub.model.outcomes import Outcome, OutcomeStatus
from hub.privacy.sealing import BROADCAST_PREFIX, KeyLookup, sealed_json

# Deliveries per record, and the most bytes of them (a sealed email delivery is about 1 KB):
# few records per fan-out, each well under Kafka's 1 MB default limit, and each sent in a few
# seconds (a worker handing its partitions over finishes the record in hand first).
BATCH_ITEMS = 250
BATCH_BYTES = 512 * 1024
# Recipients per roster: an entry is an id and a language (some 50 bytes).
ROSTER_ITEMS = 500
_OPEN = f'{{"{BATCH}": ['.encode()
_SEPARATOR = b", "
_CLOSE = b"]}"


@dataclass(frozen=True, slots=True)
class Encoded:
    """One delivery ready for its channel's deliveries topic."""

    channel: ChannelKey
    key: bytes
    value: bytes
    planned: Outcome


@dataclass(slots=True)
class Batch:
    """Deliveries of one event and channel whose recipients' keys map to one partition: one
    record there (the partition of their retries and ledger entries too)."""

    channel: ChannelKey
    partition: int
    key: bytes  # the event id: the record is placed by `partition`, not by its key
    values: list[bytes] = field(default_factory=list)
    planned: list[Outcome] = field(default_factory=list)
    size: int = 0

    @property
    def value(self) -> bytes:
        """What the topic's codec writes for `{"batch": [each message]}`, byte for byte."""
        return _OPEN + _SEPARATOR.join(self.values) + _CLOSE

    def has_room_for(self, item: Encoded, most_bytes: int) -> bool:
        return not self.values or (
            len(self.values) < BATCH_ITEMS and self.size + len(item.value) <= most_bytes
        )

    def add(self, item: Encoded) -> None:
        self.values.append(item.value)
        self.planned.append(item.planned)
        self.size += len(item.value) + len(_SEPARATOR)


@dataclass(slots=True)
class Roster:
    """Deliveries of one event and channel to subscribers whose keys map to one partition,
    named by id: one record there."""

    channel: ChannelKey
    partition: int
    key: bytes  # the event id: the record is placed by `partition`, not by its key
    event_at: EventAt
    recipients: list[list[str]] = field(default_factory=list)
    planned: list[Outcome] = field(default_factory=list)

    @property
    def value(self) -> bytes:
        event_id = self.key.decode()
        return json.dumps(
            roster_value(event_id, self.channel, self.event_at, self.recipients)
        ).encode()


def is_subscriber(delivery: Delivery) -> bool:
    """Goes to a subscriber (a roster names them), not to a configured destination."""
    return not delivery.recipient.id.startswith(BROADCAST_PREFIX)


def recipient_ids(deliveries: Iterable[Delivery]) -> set[str]:
    return {delivery.recipient.id for delivery in deliveries}


def rosters(
    deliveries: Iterable[Delivery],
    event_at: EventAt,
    now: datetime,
    partitions: Mapping[ChannelKey, int],
) -> list[Roster]:
    """Deliveries to subscribers as rosters, by channel and by the partition each recipient's
    key maps to among that channel's `partitions`, in planned order within each."""
    open_rosters: dict[tuple[ChannelKey, int], Roster] = {}
    done: list[Roster] = []
    for delivery in deliveries:
        recipient_id = delivery.recipient.id
        partition = partition_of(recipient_id, partitions[delivery.channel])
        roster = open_rosters.get((delivery.channel, partition))
        if roster is None or len(roster.recipients) >= ROSTER_ITEMS:
            if roster is not None:
                done.append(roster)
            key = delivery.event_id.encode()
            roster = Roster(delivery.channel, partition, key, event_at)
            open_rosters[(delivery.channel, partition)] = roster
        roster.recipients.append([recipient_id, delivery.language])
        roster.planned.append(Outcome.of(delivery, OutcomeStatus.PLANNED, now))
    return done + list(open_rosters.values())


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


def batched(
    encoded: Iterable[Encoded],
    partitions: Mapping[ChannelKey, int],
    most_bytes: int = BATCH_BYTES,
) -> list[Batch]:
    """The deliveries as records: grouped by channel and by the partition each recipient's key
    maps to among that channel's `partitions`, in planned order within each record."""
    open_batches: dict[tuple[ChannelKey, int], Batch] = {}
    done: list[Batch] = []
    for item in encoded:
        partition = partition_of(item.key.decode(), partitions[item.channel])
        batch = open_batches.get((item.channel, partition))
        if batch is None or not batch.has_room_for(item, most_bytes):
            if batch is not None:
                done.append(batch)
            batch = Batch(item.channel, partition, item.planned.event_id.encode())
            open_batches[(item.channel, partition)] = batch
        batch.add(item)
    return done + list(open_batches.values())


def encode_batches(
    deliveries: Sequence[Delivery],
    event_at: EventAt,
    keys: Mapping[str, KeyLookup],
    now: datetime,
    partitions: Mapping[ChannelKey, int],
) -> list[Batch]:
    """`encode_deliveries`, then `batched`: the records of a slice of a fan-out."""
    return batched(encode_deliveries(deliveries, event_at, keys, now), partitions)
