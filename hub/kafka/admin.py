"""Creating the hub's topics with the right partition count before anything writes to them."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from hub.kafka.security import bootstrap_servers, client_options, topic_configs
from hub.settings import KafkaSettings

__all__ = ["COMPACTED", "KEEP_FOREVER", "bootstrap_servers", "ensure_topics"]

log = logging.getLogger(__name__)


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
    """Create missing topics; the broker's auto-creation would pick its own partition count.

    Every topic gets the cluster's durability settings (min.insync.replicas) under `config`.
    """
    admin = AIOKafkaAdminClient(**client_options(settings))
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
                        topic_configs={**topic_configs(settings), **(config or {})},
                    )
                    for name in missing
                ]
            )
        except TopicAlreadyExistsError:
            log.debug("topics created concurrently: %s", missing)
    finally:
        await admin.close()
