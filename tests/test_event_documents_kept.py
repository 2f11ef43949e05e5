"""Documents a worker has just written are kept at hand: no read from Kafka for them. Pure."""

from __future__ import annotations

import json

import pytest

from hub.errors import TransientDeliveryError
from hub.kafka import documents as documents_module
from hub.kafka.documents import EventDocuments
from hub.settings import KafkaSettings


async def test_a_document_written_here_is_read_without_kafka_until_newer_ones_push_it_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def document(n: int) -> dict[str, str]:
        return {"id": f"ev-{n}", "body": "x" * 100}

    size = len(json.dumps(document(0)))
    monkeypatch.setattr(documents_module, "CACHED_DOCUMENT_BYTES", 10 * size)
    # A broker nobody listens on: any read from Kafka fails.
    documents = EventDocuments(KafkaSettings(broker="127.0.0.1:1"), "t.event-documents.v1")
    documents.remember("ev-0", 1, 7, document(0), size)
    assert await documents.get("ev-0", 1, 7) == document(0)
    for n in range(1, 10):
        documents.remember(f"ev-{n}", 1, 7 + n, document(n), size)
    # Ten fit: all of them are still at hand, the oldest included.
    assert [await documents.get(f"ev-{n}", 1, 7 + n) for n in range(10)] == [
        document(n) for n in range(10)
    ]
    documents.remember("ev-10", 1, 17, document(10), size)
    assert await documents.get("ev-10", 1, 17) == document(10)
    with pytest.raises(TransientDeliveryError):  # the least recently used went: read again
        await documents.get("ev-0", 1, 7)
    await documents.close()
