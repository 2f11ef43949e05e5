"""Reading the real broker from tests: message counts and a consumer group's committed offsets."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

BOOTSTRAP = "127.0.0.1:9092"


async def _message_count(topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return 0
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        await consumer.stop()


def topic_message_count(topic: str) -> int:
    """Messages currently in a topic (0 if it does not exist)."""
    return asyncio.run(_message_count(topic))


async def _committed(group: str, topic: str, partition: int) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    meta = offsets.get(TopicPartition(topic, partition))
    return -1 if meta is None else meta.offset


def committed_past(group: str, topic: str, partition: int, offset: int) -> bool:
    """Has the consumer group committed beyond `offset` (so it has processed that message)?"""
    return asyncio.run(_committed(group, topic, partition)) > offset


def bootstrap_of(env: dict[str, str]) -> str:
    """The brokers a worker with this environment uses (HUB_KAFKA__BROKER), as host:port,..."""
    urls = env.get("HUB_KAFKA__BROKER", f"kafka://{BOOTSTRAP}").split(";")
    return ",".join(url.strip().removeprefix("kafka://") for url in urls)


async def _lag(group: str, topics: list[str], bootstrap: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        await consumer.topics()
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        ends = await consumer.end_offsets(tps)
        lag = 0
        for tp in tps:
            done = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0
            lag += max(0, ends[tp] - done)
        return lag
    finally:
        await consumer.stop()
        await admin.close()


def consumer_lag(group: str, topics: list[str], bootstrap: str = BOOTSTRAP) -> int:
    """Messages in `topics` the group has not committed past: 0 when all work is done."""
    return asyncio.run(_lag(group, topics, bootstrap))


def delivery_count(topic: str) -> int:
    """The delivery messages now in a deliveries topic (a record may hold a batch of them)."""
    from hub.model.deliveries import messages_in

    return sum(len(messages_in(value)) for value in read_records(topic))


def read_records(topic: str) -> list[dict[str, object]]:
    """Every value now in a topic, as JSON."""
    from hub.kafka.client import read_topic
    from hub.settings import KafkaSettings

    return [value for _key, value in asyncio.run(read_topic(KafkaSettings(), topic))]


async def _topics(prefixes: tuple[str, ...], bootstrap: str = BOOTSTRAP) -> list[str]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return sorted(t for t in await consumer.topics() if t.startswith(prefixes))
    finally:
        await consumer.stop()


async def topics_naming(marker: str, bootstrap: str = BOOTSTRAP) -> list[str]:
    """Every topic on the broker whose name holds `marker`."""
    return [t for t in await _topics(("",), bootstrap) if marker in t]


async def delete_topics_named(marker: str, bootstrap: str = BOOTSTRAP) -> None:
    """Delete every topic whose name holds `marker`, from inside an event loop."""
    doomed = await topics_naming(marker, bootstrap)
    if not doomed:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(doomed)
    finally:
        await admin.close()


def delete_topics_naming(marker: str) -> None:
    """Delete every topic whose name holds `marker` (a finished test's run id), so the broker
    does not carry thousands of idle partitions through the suite. Runs in a thread of its own:
    the caller may be inside an event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, delete_topics_named(marker)).result(timeout=120)


def topics_starting_with(*prefixes: str) -> list[str]:
    """Every topic on the broker whose name starts with one of `prefixes`."""
    return asyncio.run(_topics(prefixes))


async def _raw_records(topic: str) -> list[tuple[bytes, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not tps:
            return []
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        for tp in tps:
            consumer.seek(tp, starts[tp])
        records: list[tuple[bytes, bytes]] = []
        pending = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, messages in batches.items():
                records += [
                    (m.key or b"", (m.value or b"") + _headers(m.headers))
                    for m in messages
                    if m.offset < ends[tp]
                ]
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return records
    finally:
        await consumer.stop()


def _headers(headers: object) -> bytes:
    pairs = headers if isinstance(headers, list | tuple) else ()
    return b"".join(b"\x00" + name.encode() + b"=" + (value or b"") for name, value in pairs)


def raw_records(topic: str) -> list[tuple[bytes, bytes]]:
    """Every (key, value + headers) now readable in a topic, as a consumer gets the bytes."""
    return asyncio.run(_raw_records(topic))


def where_readable(topics: list[str], needles: list[str]) -> dict[str, list[str]]:
    """For each needle, the topics in which some key or value contains it in readable form.

    Readable means as UTF-8 bytes or as JSON writes it (\\u-escaped), in keys, values or headers
    alike; sealed fields are opaque bytes and do not match.
    """
    forms = {n: {n.encode(), json.dumps(n).strip('"').encode()} for n in needles}
    found: dict[str, list[str]] = {n: [] for n in needles}
    for topic in topics:
        blobs = [key + b"\x00" + value for key, value in raw_records(topic)]
        for needle, variants in forms.items():
            if any(form in blob for blob in blobs for form in variants):
                found[needle].append(topic)
    return {n: t for n, t in found.items() if t}
