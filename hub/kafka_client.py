"""Writing an accepted event to Kafka from outside the worker (the CLI)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from hub.errors import ConfigurationError
from hub.kafka_admin import KEEP_FOREVER, bootstrap_servers, ensure_topics
from hub.publishing import Accepted
from hub.settings import KafkaSettings


async def publish(
    settings: KafkaSettings, accepted: Accepted, published_by: str
) -> tuple[int, int]:
    """Send with acks=all and wait for the broker; returns (partition, offset)."""
    try:
        await ensure_topics(settings, [accepted.topic], KEEP_FOREVER)
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers(settings), acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            metadata = await producer.send_and_wait(
                accepted.topic,
                key=accepted.key,
                value=accepted.value,
                headers=[("hub-published-by", published_by.encode())],
            )
        finally:
            await producer.stop()
    except KafkaError as exc:
        raise ConfigurationError(f"cannot publish to Kafka at {settings.broker}: {exc}") from exc
    return metadata.partition, metadata.offset
