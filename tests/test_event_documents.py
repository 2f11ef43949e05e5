"""Event documents by reference (hub.kafka.documents) against the real broker: read by offset,
a later copy found when compaction removed the first, nothing invented for an unknown event."""

from __future__ import annotations

import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from hub.kafka.admin import COMPACTED, ensure_topics
from hub.kafka.documents import EventDocuments
from hub.kafka.security import client_options
from hub.settings import KafkaSettings

pytestmark = pytest.mark.kafka


async def test_documents_are_read_by_offset_and_a_later_copy_stands_in_for_a_compacted_one(
    kafka_broker: str,
) -> None:
    settings = KafkaSettings(broker=kafka_broker)
    topic = f"t{uuid.uuid4().hex[:10]}.event-documents.v1"
    await ensure_topics(settings, [topic], COMPACTED, partitions=1)
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        offsets = []
        for key, version in (("ev-a", 1), ("ev-b", 1), ("ev-a", 2)):
            document = {"id": key, "version": version}
            sent = await producer.send_and_wait(
                topic, json.dumps(document).encode(), key=key.encode(), partition=0
            )
            offsets.append(sent.offset)
    finally:
        await producer.stop()
    documents = EventDocuments(settings, topic)
    try:
        assert await documents.get("ev-b", 0, offsets[1]) == {"id": "ev-b", "version": 1}
        assert await documents.get("ev-a", 0, offsets[0]) == {"id": "ev-a", "version": 1}
        # The record at this offset is another event's (as when compaction removed ev-a's first
        # copy): the latest copy of ev-a in the partition is read instead.
        assert await documents.get("ev-a", 0, offsets[1]) == {"id": "ev-a", "version": 2}
        assert await documents.get("ev-unknown", 0, offsets[2]) is None
        assert await documents.get("ev-unknown", 0, offsets[2] + 10) is None
        # Read once, then kept: the same answer with the consumer gone.
        await documents.close()
        documents.settings = KafkaSettings(broker="127.0.0.1:1")
        assert await documents.get("ev-b", 0, offsets[1]) == {"id": "ev-b", "version": 1}
    finally:
        await documents.close()
