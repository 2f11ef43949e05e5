"""Planned deliveries encoded off the loop: what the deliveries topic's codec would write. Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hub.model.deliveries import ChannelKey, Delivery, EventAt, Recipient, delivery_id
from hub.model.outcomes import OutcomeStatus
from hub.planning.encoding import encode_deliveries, recipient_ids
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
