"""Documents a worker has just written are kept at hand: no read from Kafka for them. Pure."""

from __future__ import annotations

import pytest

from hub.errors import TransientDeliveryError
from hub.kafka.documents import CACHED_DOCUMENTS, EventDocuments
from hub.settings import KafkaSettings


async def test_a_document_written_here_is_read_without_kafka_until_newer_ones_push_it_out() -> None:
    # A broker nobody listens on: any read from Kafka fails.
    documents = EventDocuments(KafkaSettings(broker="127.0.0.1:1"), "t.event-documents.v1")
    documents.remember("ev-0", 1, 7, {"id": "ev-0"})
    assert await documents.get("ev-0", 1, 7) == {"id": "ev-0"}
    for n in range(1, CACHED_DOCUMENTS + 1):
        documents.remember(f"ev-{n}", 1, 7 + n, {"id": f"ev-{n}"})
    assert await documents.get(f"ev-{CACHED_DOCUMENTS}", 1, 7 + CACHED_DOCUMENTS) is not None
    with pytest.raises(TransientDeliveryError):  # the oldest went: it would be read again
        await documents.get("ev-0", 1, 7)
    await documents.close()
