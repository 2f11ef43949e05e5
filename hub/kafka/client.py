"""Kafka from outside the agents: the CLI's publish, reading a topic to its end, re-driving."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from hub.errors import ConfigurationError
from hub.intake.publishing import Accepted
from hub.kafka.admin import KEEP_FOREVER, ensure_topics
from hub.kafka.security import client_options
from hub.kafka.topics import TopicNames
from hub.model import audit
from hub.settings import KafkaSettings

Record = tuple[bytes | None, Any]  # value: decoded JSON, or None for a tombstone


def _producer(settings: KafkaSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(**client_options(settings), acks="all", enable_idempotence=True)


async def publish(
    settings: KafkaSettings, accepted: Accepted, published_by: str
) -> tuple[int, int]:
    """Send with acks=all and wait for the broker, then audit it; returns (partition, offset).

    The audit entry is the one an HTTP publish writes, marked `via: cli`: who published what is
    on the record however it was published.
    """
    audit_topic = TopicNames(settings.topic_prefix).audit
    try:
        await ensure_topics(settings, [accepted.topic, audit_topic], KEEP_FOREVER)
        producer = _producer(settings)
        await producer.start()
        try:
            metadata = await producer.send_and_wait(
                accepted.topic,
                key=accepted.key,
                value=accepted.value,
                headers=[("hub-published-by", published_by.encode())],
            )
            entry = audit.record(
                published_by,
                "event.published",
                accepted.document["id"],
                datetime.now(UTC),
                type=accepted.document["type"],
                classification=accepted.document["classification"],
                topic=accepted.topic,
                offset=metadata.offset,
                via="cli",
            )
            try:
                await producer.send_and_wait(audit_topic, key=accepted.key, value=_json(entry))
            except KafkaError as exc:
                # The event is in Kafka and will be delivered: say so, so nobody publishes again.
                raise ConfigurationError(
                    f"event {accepted.document['id']} was published to {accepted.topic} "
                    f"(partition {metadata.partition}, offset {metadata.offset}), but its audit "
                    f"entry could not be written to {audit_topic}: {exc}"
                ) from exc
        finally:
            await producer.stop()
    except KafkaError as exc:
        raise ConfigurationError(f"cannot publish to Kafka at {settings.broker}: {exc}") from exc
    return metadata.partition, metadata.offset


async def read_topic(
    settings: KafkaSettings,
    topic: str,
    *,
    keep: Callable[[bytes | None], bool] = lambda _key: True,
    last: int | None = None,
) -> list[Record]:
    """Every record now in `topic` (or the `last` N of each partition) whose key passes `keep`."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await _partitions(consumer, topic)
        if not tps:
            return []
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        for tp in tps:
            first = starts[tp] if last is None else max(starts[tp], ends[tp] - last)
            consumer.seek(tp, first)
        records: list[Record] = []
        pending = {tp for tp in tps if ends[tp] > (await consumer.position(tp))}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, messages in batches.items():
                for message in messages:
                    if message.offset < ends[tp] and keep(message.key):
                        value = None if message.value is None else json.loads(message.value)
                        records.append((message.key, value))
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return records
    finally:
        await consumer.stop()


async def redrive(
    settings: KafkaSettings,
    group: str,
    dead_letter_topic: str,
    forward: Callable[[dict[str, Any]], tuple[str, bytes, dict[str, Any]] | None],
    audit_topic: str,
    audit_entry: Callable[[dict[str, Any]], dict[str, Any]],
) -> int:
    """Send dead letters not yet re-driven back to work, then remember how far we got.

    `forward` maps a dead letter to (topic, key, value), or None to leave it. Offsets are committed
    under `group` only after everything was written, so a failed run is simply run again; the
    delivery ledger keeps a delivery that did go out from going out twice.
    """
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = _producer(settings)
    await consumer.start()
    await producer.start()
    count = 0
    try:
        tps = await _partitions(consumer, dead_letter_topic)
        if not tps:
            return 0
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            committed = await consumer.committed(tp)
            if committed is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, committed)
        pending = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, messages in batches.items():
                for message in messages:
                    if message.offset >= ends[tp]:
                        continue
                    letter = json.loads(message.value)
                    target = forward(letter)
                    if target is not None:
                        topic, key, value = target
                        await producer.send_and_wait(topic, key=key, value=_json(value))
                        await producer.send_and_wait(
                            audit_topic, key=message.key, value=_json(audit_entry(letter))
                        )
                        count += 1
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        await consumer.commit({tp: ends[tp] for tp in tps})
    finally:
        await producer.stop()
        await consumer.stop()
    return count


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions; an unsubscribed consumer has to ask the cluster first."""
    # AIOKafkaConsumer.topics() returns fresh metadata without caching it for partitions_for_topic.
    await consumer._client.force_metadata_update()
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]


async def send_records(
    settings: KafkaSettings, topic: str, records: Sequence[tuple[bytes, dict[str, Any] | None]]
) -> None:
    """Write records (None: a tombstone) with acks=all, all or nothing from the caller's view."""
    producer = _producer(settings)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, key=key, value=None if value is None else _json(value))
            for key, value in records
        ]
        for future in futures:
            await future
    finally:
        await producer.stop()


async def latest_by_key(settings: KafkaSettings, topic: str) -> dict[str, Any]:
    """A compacted topic's current state: the last value per key, tombstones removing keys."""
    state: dict[str, Any] = {}
    for key, value in await read_topic(settings, topic):
        name = (key or b"").decode()
        if value is None:
            state.pop(name, None)
        else:
            state[name] = value
    return state


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
