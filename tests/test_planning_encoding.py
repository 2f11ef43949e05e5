"""Planned deliveries encoded off the loop, in batches: what the topics' codec would write. Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hub.kafka.partitioning import partition_of
from hub.model.deliveries import (
    ChannelKey,
    Delivery,
    EventAt,
    Recipient,
    delivery_id,
    messages_in,
)
from hub.model.outcomes import OutcomeStatus
from hub.planning.encoding import (
    BATCH_ITEMS,
    batched,
    encode_batches,
    encode_deliveries,
    recipient_ids,
)
from hub.privacy.sealing import DATA_KEY, SEALED, keys_from_records, new_key, open_value
from hub.runtime.sealed_codec import SealingCodec

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
AT = EventAt(partition=2, offset=41)


def delivery(recipient_id: str, address: str, channel: ChannelKey = ChannelKey.EMAIL) -> Delivery:
    return Delivery(
        id=delivery_id("ev-1", str(channel), recipient_id),
        event_id="ev-1",
        channel=channel,
        language="fr",
        recipient=Recipient(recipient_id, f"Person {recipient_id}", address),
    )


def test_each_delivery_is_sealed_as_the_codec_seals_it_and_opens_to_its_message() -> None:
    people = {"s-1": {DATA_KEY: new_key()}, "s-2": {DATA_KEY: new_key()}}
    keys = keys_from_records(people.get)
    planned = [delivery("s-1", "ana@example.org"), delivery("s-2", "ben@example.org")]
    found = {rid: keys(rid) for rid in recipient_ids(planned)}
    encoded = encode_deliveries(planned, AT, found, NOW)
    codec = SealingCodec(keys)
    for item, original in zip(encoded, planned, strict=True):
        assert item.channel is ChannelKey.EMAIL and item.key == original.recipient.id.encode()
        stored = json.loads(item.value)
        assert SEALED in stored and original.recipient.address not in item.value.decode()
        # What the topic's readers get back: the message the codec would have been given.
        assert codec.loads(item.value) == open_value(stored, keys) == original.as_message(AT)
        assert item.planned.status is OutcomeStatus.PLANNED
        assert (item.planned.delivery_id, item.planned.at) == (original.id, NOW.isoformat())


def test_a_broadcast_destination_is_written_as_the_codec_writes_it() -> None:
    channel = delivery("telegram:-1001", "-1001", ChannelKey.TELEGRAM)
    keys = keys_from_records({}.get)
    [item] = encode_deliveries([channel], AT, {"telegram:-1001": keys("telegram:-1001")}, NOW)
    assert item.value == SealingCodec(keys).dumps(channel.as_message(AT))


def test_a_fan_out_is_written_as_batches_on_the_partition_of_each_recipient() -> None:
    people = {f"s-{n}": {DATA_KEY: new_key()} for n in range(40)}
    keys = keys_from_records(people.get)
    planned = [delivery(rid, f"{rid}@example.org") for rid in people]
    found = {rid: keys(rid) for rid in recipient_ids(planned)}
    batches = encode_batches(planned, AT, found, NOW, {ChannelKey.EMAIL: 3})
    assert {b.partition for b in batches} == {0, 1, 2}  # 40 people spread over every partition
    codec = SealingCodec(keys)
    seen: list[str] = []
    for batch in batches:
        assert batch.key == b"ev-1"
        opened = messages_in(codec.loads(batch.value))
        # Each message opens to its delivery; its recipient's key maps to the batch's partition.
        for message, outcome in zip(opened, batch.planned, strict=True):
            assert isinstance(message, dict)
            recipient = message["recipient"]["id"]
            assert partition_of(recipient, 3) == batch.partition
            assert outcome.recipient_id == recipient and outcome.status is OutcomeStatus.PLANNED
            seen.append(recipient)
        # What the codec writes for the same batch (sealed anew: the nonces differ).
        assert codec.loads(codec.dumps({"batch": opened})) == codec.loads(batch.value)
        assert b"@example.org" not in batch.value
    assert sorted(seen) == sorted(people)
    for partition in range(3):  # planned order kept within a partition
        mine = [d.recipient.id for d in planned if partition_of(d.recipient.id, 3) == partition]
        assert mine == [
            o.recipient_id for b in batches if b.partition == partition for o in b.planned
        ]


def test_batches_are_cut_by_count_and_by_size() -> None:
    keys = keys_from_records({}.get)
    many = [
        delivery(f"telegram:-{n}", f"-{n}", ChannelKey.TELEGRAM) for n in range(BATCH_ITEMS + 7)
    ]
    found = {rid: keys(rid) for rid in recipient_ids(many)}
    batches = encode_batches(many, AT, found, NOW, {ChannelKey.TELEGRAM: 1})
    assert [len(b.planned) for b in batches] == [BATCH_ITEMS, 7]
    encoded = encode_deliveries(many, AT, found, NOW)
    size = len(encoded[0].value)
    tight = batched(encoded, {ChannelKey.TELEGRAM: 1}, most_bytes=10 * size)
    assert all(len(b.value) <= 10 * size + 20 for b in tight) and len(tight) > 2
    assert sum(len(b.planned) for b in tight) == len(many)


def test_an_oversized_delivery_still_gets_a_record_of_its_own() -> None:
    keys = keys_from_records({}.get)
    planned = [delivery(f"telegram:-{n}", f"-{n}", ChannelKey.TELEGRAM) for n in range(3)]
    encoded = encode_deliveries(
        planned, AT, {d.recipient.id: keys(d.recipient.id) for d in planned}, NOW
    )
    alone = batched(encoded, {ChannelKey.TELEGRAM: 1}, most_bytes=1)
    assert [len(b.planned) for b in alone] == [1, 1, 1]
