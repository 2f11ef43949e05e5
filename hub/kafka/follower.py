"""Following a compacted one-partition topic into an in-memory index, on every worker.

Credentials, console accounts and console submissions are small and read on every request:
each worker reads the whole topic itself, without a consumer group, so a change made on one
worker (a revoked token, a disabled account, an approval) holds on every worker within a fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from hub.errors import BadRecord
from hub.kafka.client import latest_by_key
from hub.kafka.security import client_options
from hub.settings import KafkaSettings

log = logging.getLogger(__name__)


class Index(Protocol):
    """What a followed topic is read into: records applied in order, ready once caught up."""

    ready: bool  # False until the topic was read to its end: until then, answers may be stale

    def apply(self, key: str, value: object) -> None:
        """One record (None: a tombstone); raises BadRecord if it does not read."""


def apply_record(index: Index, what: str, key: str, value: object) -> None:
    """Apply one record; one that does not read is logged and skipped, the key keeps its state."""
    try:
        index.apply(key, value)
    except BadRecord as exc:
        log.error("%s record %r skipped: %s", what, key, exc)


async def load(settings: KafkaSettings, topic: str, index: Index, what: str) -> None:
    """Read the topic as it is now into `index` (the CLI's view), then mark it ready."""
    for key, value in (await latest_by_key(settings, topic)).items():
        apply_record(index, what, key, value)
    index.ready = True


async def follow(settings: KafkaSettings, topic: str, index: Index, what: str) -> None:
    """Keep `index` current with the topic for as long as the worker runs.

    While the topic cannot be read the index is not ready, and what depends on it refuses to
    answer (fails closed) rather than answer from a state that may be stale.
    """
    while True:
        try:
            await _follow(settings, topic, index, what)
        except KafkaError as exc:
            index.ready = False
            log.warning("reading %s failed (%s); reading again", what, exc)
        except Exception:
            index.ready = False
            log.exception("reading %s failed; reading again", what)
        await asyncio.sleep(1)  # before reading again from the start


@contextlib.asynccontextmanager
async def following(
    settings: KafkaSettings, topics: Sequence[tuple[str, Index, str]]
) -> AsyncIterator[None]:
    """Follow each (topic, index, what) for as long as the web server runs (its ASGI lifespan).

    Started with the web server rather than as Faust tasks: Faust starts tasks only once its
    tables are recovered, and every request would be refused until then.
    """
    tasks = [
        asyncio.create_task(follow(settings, topic, index, what), name=f"{what}-follower")
        for topic, index, what in topics
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _follow(settings: KafkaSettings, topic: str, index: Index, what: str) -> None:
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        while True:
            if not index.ready and await consumer.position(tp) >= end:
                index.ready = True
                log.info("%s read", what)
            batches = await consumer.getmany(tp, timeout_ms=500)
            for message in batches.get(tp, []):
                key = (message.key or b"").decode()
                try:
                    value = None if message.value is None else json.loads(message.value)
                except ValueError as exc:
                    log.error("%s record %r skipped: not JSON: %s", what, key, exc)
                    continue
                apply_record(index, what, key, value)
    finally:
        await consumer.stop()
