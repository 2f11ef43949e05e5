"""Counting the Kafka records a run writes: end offsets of every topic of a hub, before and after.

    before = end_offsets(hub.prefix, hub.env["HUB_APP_ID"])
    ... publish, wait until done ...
    written = records_written(before, end_offsets(hub.prefix, hub.env["HUB_APP_ID"]))

A hub's topics are its own (`<topic prefix>.…`) and faust's table changelogs and leader topic
(`<app id>-…`); a topic that did not exist before counts from 0. Also usable as a script against
a running hub: `python -m tests.record_count PREFIX APP_ID` prints the end offsets as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition

BOOTSTRAP = "127.0.0.1:9092"


async def _end_offsets(prefixes: tuple[str, ...], bootstrap: str) -> dict[str, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        topics = sorted(t for t in await consumer.topics() if t.startswith(prefixes))
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        ends = await consumer.end_offsets(tps) if tps else {}
        totals = dict.fromkeys(topics, 0)
        for tp, end in ends.items():
            totals[tp.topic] += end
        return totals
    finally:
        await consumer.stop()


def end_offsets(topic_prefix: str, app_id: str, bootstrap: str = BOOTSTRAP) -> dict[str, int]:
    """Per topic of this hub, the sum of its partitions' end offsets (records ever written,
    transaction markers included; compaction and retention do not lower it)."""
    return asyncio.run(_end_offsets((f"{topic_prefix}.", f"{app_id}-"), bootstrap))


def records_written(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """Records written to each topic between two snapshots; topics with none left out."""
    written = {topic: end - before.get(topic, 0) for topic, end in after.items()}
    return {topic: count for topic, count in sorted(written.items()) if count}


def table(written: Mapping[str, int], emails: int) -> str:
    """A readable breakdown: records per topic, and per email."""
    width = max((len(t) for t in written), default=5)
    lines = [f"{t:<{width}} {c:>8} {c / max(emails, 1):>8.3f}/email" for t, c in written.items()]
    total = sum(written.values())
    lines.append(f"{'total':<{width}} {total:>8} {total / max(emails, 1):>8.3f}/email")
    return "\n".join(lines)


if __name__ == "__main__":
    prefix, app = sys.argv[1], sys.argv[2]
    print(json.dumps(end_offsets(prefix, app, *sys.argv[3:4]), indent=2))
