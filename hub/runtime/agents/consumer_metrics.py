"""What a worker reads from its own consumer for Prometheus (hub.metrics), on a timer: the
partitions it holds, how far behind it is on each topic, and the retries waiting."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from importlib import metadata
from typing import Any

from hub import metrics
from hub.runtime.app import Runtime

log = logging.getLogger(__name__)

# How often the consumer's figures are read: a scrape sees them at most this old.
METRICS_SECONDS = 5.0
# One read of the partitions' end offsets (a request to each broker) waits at most this.
HIGHWATERS_TIMEOUT = 10.0


def hub_version() -> str:
    try:
        return metadata.version("comms-hub")
    except metadata.PackageNotFoundError:
        return "unknown"


def consumed(topic: str) -> bool:
    """A topic the agents consume (table changelogs are only read to recover a table, and
    faust's assignor topic carries no work)."""
    return not topic.endswith("-changelog") and "__assignor" not in topic


def register_consumer_metrics(rt: Runtime) -> None:
    """hub_worker_info at once; hub_partitions_owned, hub_consumer_lag and hub_retries_pending
    every METRICS_SECONDS."""
    metrics.worker_started(hub_version(), rt.settings.worker_name or socket.gethostname())
    retry_topics = {
        str(key): [
            channel.retries.get_topic_name(),
            *(tier.get_topic_name() for tier in channel.retry_tiers),
        ]
        for key, channel in rt.channels.items()
    }

    @rt.app.timer(interval=METRICS_SECONDS)  # type: ignore[untyped-decorator]
    async def observe_consumer() -> None:
        try:
            await observe(rt.app.consumer, retry_topics)
        except Exception as exc:  # not started yet, rebalancing, the broker away: next time
            log.debug("consumer metrics not read: %r", exc)


async def observe(consumer: Any, retry_topics: dict[str, list[str]]) -> None:
    assigned = list(consumer.assignment())
    owned = Counter(str(tp.topic) for tp in assigned)
    mine = [tp for tp in assigned if consumed(tp.topic)]
    highwaters = await asyncio.wait_for(consumer.highwaters(*mine), HIGHWATERS_TIMEOUT)
    # faust's committed offsets (the next to read), from the group at assignment and kept at
    # each commit; where the group has none yet, the consumer's position.
    known = getattr(consumer, "_committed_offset", {})
    committed: dict[tuple[str, int], int | None] = {}
    for tp in mine:
        offset = known.get(tp)
        committed[(tp.topic, tp.partition)] = (
            offset if offset is not None else await consumer.position(tp)
        )
    lag = metrics.lag_by_topic(
        [(tp.topic, tp.partition) for tp in mine],
        {(tp.topic, tp.partition): high for tp, high in highwaters.items()},
        committed,
    )
    metrics.assignment_observed(owned, lag, retry_topics)
