"""An agent's stream, made contiguous per partition: gaps faust left are read again from Kafka."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faust.serializers import codecs
from faust.types import StreamT

from hub.kafka.security import client_options
from hub.runtime.app import Runtime
from hub.runtime.contiguity import Contiguity, baseline

log = logging.getLogger(__name__)


class ContiguousStream:
    """Wraps one agent's stream; `async for key, value in guard.items(stream)` in the agent."""

    def __init__(self, rt: Runtime, name: str) -> None:
        self.rt = rt
        self.name = name
        self.seen = Contiguity()
        self.repaired = 0  # messages read again because faust never handed them over
        self.codec: Any = rt.app.conf.value_serializer
        rt.app.on_partitions_revoked.connect(self._on_revoked)

    async def _on_revoked(self, sender: Any, /, *args: Any, **kwargs: Any) -> None:
        self.seen.forget()

    async def items(self, stream: StreamT[Any]) -> AsyncIterator[tuple[Any, Any]]:
        # Records read again are decoded as the agent's own topic decodes them (sealed ones too).
        serializer = getattr(stream.channel, "value_serializer", None)
        self.codec = serializer or self.rt.app.conf.value_serializer
        async for event in stream.events():
            message = event.message
            tp = (message.topic, message.partition)
            if not self.seen.knows(tp):
                committed, repair = await self._committed(tp), self._repair_from(tp)
                self.seen.start(tp, baseline(committed, repair))
            gap = self.seen.missing(tp, message.offset)
            if gap:
                log.warning(
                    "%s: offsets %d-%d of %s[%d] never reached the agent (faust skipped them; "
                    "next offset handed over %d); reading them again from Kafka",
                    self.name,
                    gap.start,
                    gap.stop - 1,
                    tp[0],
                    tp[1],
                    message.offset,
                )
                # Kept on this partition's table (local store at once, changelog at the next
                # commit): should the worker die mid-repair after faust committed past the gap,
                # the next owner of the partition starts the repair again from here.
                self.rt.progress[self._progress_key(tp)] = gap.start
                for key, value in await self._read(tp, gap):
                    self.repaired += 1
                    yield key, value
            yield event.key, event.value
            self.seen.handled(tp, message.offset)
            if gap:
                self.rt.progress.pop(self._progress_key(tp), None)

    def _progress_key(self, tp: tuple[str, int]) -> str:
        return f"{tp[0]}#{tp[1]}"

    def _repair_from(self, tp: tuple[str, int]) -> int | None:
        value = self.rt.progress.get(self._progress_key(tp))
        return int(value) if value is not None else None

    async def _committed(self, tp: tuple[str, int]) -> int | None:
        """The group's committed offset; at a partition's first message faust has not moved it."""
        admin = AIOKafkaAdminClient(**client_options(self.rt.settings.kafka))
        await admin.start()
        try:
            partition = TopicPartition(*tp)
            offsets = await admin.list_consumer_group_offsets(
                self.rt.settings.app_id, partitions=[partition]
            )
        finally:
            await admin.close()
        meta = offsets.get(partition)
        return None if meta is None or meta.offset < 0 else int(meta.offset)

    async def _read(self, tp: tuple[str, int], offsets: range) -> list[tuple[Any, Any]]:
        """The records at `offsets` of one partition, decoded as the agents' JSON values."""
        consumer = AIOKafkaConsumer(
            **client_options(self.rt.settings.kafka),
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        records: list[tuple[Any, Any]] = []
        try:
            partition = TopicPartition(*tp)
            consumer.assign([partition])
            consumer.seek(partition, offsets.start)
            while await consumer.position(partition) < offsets.stop:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                for record in batch.get(partition, []):
                    if record.offset in offsets:
                        value = (
                            None if record.value is None else codecs.loads(self.codec, record.value)
                        )
                        records.append((record.key, value))
        finally:
            await consumer.stop()
        return records
