"""S4's reference: a raw aiokafka consume → produce loop, committing after each batch."""

from __future__ import annotations

import asyncio
import json
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.stack import BROKER
from hub.model.deliveries import messages_in


def each_delivery(value: bytes) -> list[bytes]:
    """The record's value, or each delivery of a batch record as a value of its own."""
    messages = messages_in(json.loads(value))
    if len(messages) == 1:
        return [value]
    return [json.dumps(message).encode() for message in messages]


async def raw_loop(source: str, count: int, marker: str) -> float:
    """Read the deliveries of `source` from its start until `count` are moved, writing each as a
    record of its own (a batch record's deliveries one by one, as a loop of one message per
    record would) to a topic named with `marker` (the run's clean-up deletes it), acks=all:
    deliveries/s."""
    target = f"b{marker}.bench-raw.v1"
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=BROKER,
        group_id=f"bench-raw-{marker}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=BROKER, acks="all", linger_ms=5)
    await consumer.start()
    await producer.start()
    partitions = len(consumer.partitions_for_topic(source) or {0})
    admin = AIOKafkaAdminClient(bootstrap_servers=BROKER)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(target, partitions, 1)])
    finally:
        await admin.close()
    moved = 0
    started = time.monotonic()
    try:
        while moved < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            sends = [
                await producer.send(target, value, key=record.key)
                for records in batches.values()
                for record in records
                for value in each_delivery(record.value)
            ]
            await asyncio.gather(*sends)
            await consumer.commit()
            moved += len(sends)
            if time.monotonic() - started > 600:
                raise TimeoutError(f"raw loop moved {moved} of {count} records in 10 minutes")
    finally:
        await consumer.stop()
        await producer.stop()
    return moved / (time.monotonic() - started)
