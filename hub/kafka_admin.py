"""Creating the hub's topics with the right partition count before anything writes to them."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from hub.settings import KafkaSettings

log = logging.getLogger(__name__)


def bootstrap_servers(settings: KafkaSettings) -> str:
    """kafka://host:port[;kafka://host2:port] -> host:port,host2:port for aiokafka."""
    return ",".join(url.removeprefix("kafka://") for url in settings.broker.split(";"))


# Events are the record of what was published: keep them for ever.
KEEP_FOREVER = {"retention.ms": "-1"}
# The latest record per key, for ever; a tombstone (null value) erases the key.
COMPACTED = {"cleanup.policy": "compact"}


async def ensure_topics(
    settings: KafkaSettings,
    names: Iterable[str],
    config: dict[str, str] | None = None,
    partitions: int | None = None,
) -> None:
    """Create missing topics; the broker's auto-creation would pick its own partition count."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if not missing:
            return
        try:
            await admin.create_topics(
                [
                    NewTopic(
                        name=name,
                        num_partitions=partitions or settings.partitions,
                        replication_factor=settings.replication_factor,
                        topic_configs=dict(config or {}),
                    )
                    for name in missing
                ]
            )
        except TopicAlreadyExistsError:
            log.debug("topics created concurrently: %s", missing)
    finally:
        await admin.close()
