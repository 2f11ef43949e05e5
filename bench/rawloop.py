"""S4's reference: a raw aiokafka consume → produce loop, committing after each batch."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.stack import BROKER


async def raw_loop(source: str, count: int, marker: str) -> float:
    """Read `count` records of `source` from its start and write each to a topic of its own
    (named with `marker`, so the run's clean-up deletes it), acks=all: records/s."""
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
                await producer.send(target, record.value, key=record.key)
                for records in batches.values()
                for record in records
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
