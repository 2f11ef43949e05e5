"""Event documents by reference: written once per planned event, read back by offset, cached.

A delivery names its event's record on the compacted event-documents topic (partition, offset)
instead of carrying the document. Each worker reads a document once and keeps the last few in
memory: a fan-out to 100,000 people reads it once per worker, not once per person.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from hub.errors import TransientDeliveryError
from hub.kafka.security import client_options
from hub.settings import KafkaSettings

# How much of the event documents a worker keeps at hand (their JSON size). A planner can run
# far ahead of the sending of many small events; a document pushed out before its deliveries
# are sent is read back from Kafka, one event at a time, which holds up every send behind it.
CACHED_DOCUMENT_BYTES = 32 * 1024 * 1024
# How long one read may wait for the broker before the delivery is retried later.
READ_TIMEOUT_SECONDS = 30.0


class EventDocuments:
    """Reads event documents by (partition, offset) from one topic, through an LRU cache."""

    def __init__(self, settings: KafkaSettings, topic: str) -> None:
        self.settings = settings
        self.topic = topic
        self._cache: OrderedDict[tuple[str, int, int], tuple[dict[str, Any], int]] = OrderedDict()
        self._bytes = 0  # the JSON size of what is kept
        self._consumer: AIOKafkaConsumer | None = None
        self._reading = asyncio.Lock()  # one consumer, one read at a time

    async def get(self, event_id: str, partition: int, offset: int) -> dict[str, Any] | None:
        """The document of `event_id` at that place; None if the topic does not hold it.

        TransientDeliveryError when Kafka cannot be read: the delivery is tried again later."""
        key = (event_id, partition, offset)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key][0]
        async with self._reading:
            if key not in self._cache:
                try:
                    raw = await asyncio.wait_for(
                        self._read(event_id, partition, offset), READ_TIMEOUT_SECONDS
                    )
                except (KafkaError, OSError, TimeoutError) as exc:
                    await self.close()  # a fresh consumer for the next try
                    raise TransientDeliveryError(f"event document unreadable: {exc!r}") from exc
                if raw is None:
                    return None
                self._keep(key, json.loads(raw), len(raw))
        return self._cache[key][0]

    def remember(
        self, event_id: str, partition: int, offset: int, document: dict[str, Any], size: int
    ) -> None:
        """Keep a document this worker has just written there (`size`: its bytes): its
        deliveries, most often sent by this same worker, then need no read from Kafka at all."""
        self._keep((event_id, partition, offset), document, size)

    def _keep(self, key: tuple[str, int, int], document: dict[str, Any], size: int) -> None:
        if key in self._cache:
            self._bytes -= self._cache.pop(key)[1]
        self._cache[key] = (document, size)
        self._bytes += size
        while self._bytes > CACHED_DOCUMENT_BYTES and len(self._cache) > 1:
            self._bytes -= self._cache.popitem(last=False)[1][1]

    async def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()

    async def _read(self, event_id: str, partition: int, offset: int) -> bytes | None:
        consumer = await self._started()
        tp = TopicPartition(self.topic, partition)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if offset < end:
            consumer.seek(tp, offset)
            found = await _next_with_key(consumer, tp, event_id.encode(), end, first_only=True)
            if found is not None:
                return found
        # Compaction kept a later copy of the same event (planned again after a crash): the
        # latest record with its key in that partition is the one.
        await consumer.seek_to_beginning(tp)
        return await _next_with_key(consumer, tp, event_id.encode(), end, first_only=False)

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(**client_options(self.settings), enable_auto_commit=False)
            try:
                await consumer.start()
            except KafkaError:
                await consumer.stop()
                raise
            self._consumer = consumer
        return self._consumer


async def _next_with_key(
    consumer: AIOKafkaConsumer, tp: TopicPartition, key: bytes, end: int, *, first_only: bool
) -> bytes | None:
    """The value of the first record read (first_only) if it has `key`, else of the last with
    `key` before `end`; None if there is none."""
    found: bytes | None = None
    while await consumer.position(tp) < end:
        batches = await consumer.getmany(tp, timeout_ms=1000)
        for message in batches.get(tp, []):
            if message.offset >= end:
                return found
            if message.key == key and message.value is not None:
                found = message.value
            if first_only:
                return found
    return found
