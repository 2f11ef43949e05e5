"""An agent's stream, made contiguous per partition: gaps faust left are read again from Kafka."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faust.serializers import codecs
from faust.types import EventT, StreamT, TableT

from hub.delivery.inflight import InFlight
from hub.kafka.security import client_options
from hub.runtime.app import Runtime
from hub.runtime.contiguity import Contiguity, baseline, repair_pending

log = logging.getLogger(__name__)

T = TypeVar("T")
ItemT = TypeVar("ItemT")

# Pauses between tries of a read from Kafka that failed (the broker down or restarting); the last
# one repeats until it works. The record in hand is not handed over meanwhile: an agent that
# crashed here would leave it unacknowledged for good, and its partition stuck behind it.
READ_AGAIN_AFTER = (0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class Record:
    """One message of the agent's topic, handed over by faust or read again from Kafka."""

    key: Any
    value: Any
    headers: Mapping[str, Any] = field(default_factory=dict)
    offset: int = -1  # in its partition: a stable name for what the record caused
    timestamp: float | None = None  # Kafka's, in seconds since the epoch (hub.metrics)


@dataclass(frozen=True)
class Taken:
    """A record as the agent takes it: where from, faust's event to acknowledge, what to settle."""

    record: Record
    tp: tuple[str, int]
    event: EventT[Any] | None  # None: read again from Kafka (faust treats its offset as done)
    settle: Callable[[], None]


def _nothing() -> None:
    pass


class ContiguousStream:
    """Wraps one agent's stream; `async for key, value in guard.items(stream)` in the agent
    (`guard.records(stream)` when it needs the headers too)."""

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
        async for record in self.records(stream):
            yield record.key, record.value

    async def records(self, stream: StreamT[Any]) -> AsyncIterator[Record]:
        async for taken in self.taken(stream):
            yield taken.record
            taken.settle()

    async def taken(self, stream: StreamT[Any]) -> AsyncIterator[Taken]:
        """Each record with its partition, faust's event (None for one read again) and what to
        do once it is handled: for agents that handle several at once (the delivery agent).

        Settle each only once it and every earlier record of its partition are handled, in the
        context of an event of that partition (it may write to a table).
        """
        # Records read again are decoded as the agent's own topic decodes them (sealed ones too).
        serializer = getattr(stream.channel, "value_serializer", None)
        self.codec = serializer or self.rt.app.conf.value_serializer
        async for event in stream.events():
            message = event.message
            tp = (message.topic, message.partition)
            if not self.seen.knows(tp):
                committed, start = await until_read(functools.partial(self._committed, tp), tp)
                self.seen.start(tp, baseline(committed, self._repair_from(tp), start))
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
                table = self._progress(tp)
                if table is not None:
                    table[self._progress_key(tp)] = gap.start
                for record in await until_read(functools.partial(self._read, tp, gap), tp):
                    self.repaired += 1
                    yield Taken(record, tp, None, _nothing)
            headers = dict(event.headers or {})
            record = Record(event.key, event.value, headers, message.offset, message.timestamp)
            settle = functools.partial(self._repaired, tp) if gap else _nothing
            yield Taken(record, tp, event, settle)
            self.seen.handled(tp, message.offset)

    def _repaired(self, tp: tuple[str, int]) -> None:
        """The gap before this record was handled: no repair to start again from."""
        if (table := self._progress(tp)) is not None:
            table.pop(self._progress_key(tp), None)

    def _progress_key(self, tp: tuple[str, int]) -> str:
        # Per agent: two agents (the planner, the publishers) read the same event topics.
        return f"{self.name}:{tp[0]}#{tp[1]}"

    def _progress(self, tp: tuple[str, int]) -> TableT[str, Any] | None:
        """The progress table whose partitions match the topic's (faust refuses writes to a
        table partitioned otherwise than the message's topic); None for another count."""
        count = self.rt.app.consumer.topic_partitions(tp[0])
        if count == 1:
            return self.rt.progress_single
        if count == self.rt.settings.kafka.partitions:
            return self.rt.progress
        log.warning("%s: no progress table for %s (%s partitions)", self.name, tp[0], count)
        return None

    def _repair_from(self, tp: tuple[str, int]) -> int | None:
        table = self._progress(tp)
        value = None if table is None else table.get(self._progress_key(tp))
        return int(value) if value is not None else None

    async def _committed(self, tp: tuple[str, int]) -> tuple[int | None, int]:
        """The group's committed offset (at a partition's first message faust has not moved it)
        and the partition's first offset, where the group starts without a commit."""
        admin = AIOKafkaAdminClient(**client_options(self.rt.settings.kafka))
        try:
            await admin.start()
            partition = TopicPartition(*tp)
            offsets = await admin.list_consumer_group_offsets(
                self.rt.settings.app_id, partitions=[partition]
            )
        finally:
            await admin.close()
        meta = offsets.get(partition)
        committed = None if meta is None or meta.offset < 0 else int(meta.offset)
        if committed is not None:
            return committed, committed
        return None, await self._log_start(tp)

    async def _consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            **client_options(self.rt.settings.kafka),
            enable_auto_commit=False,
            group_id=None,
            # A gap reaching below the log's start (records deleted since) reads what remains.
            auto_offset_reset="earliest",
        )
        await consumer.start()
        return consumer

    async def _log_start(self, tp: tuple[str, int]) -> int:
        consumer = await self._consumer()
        try:
            partition = TopicPartition(*tp)
            return int((await consumer.beginning_offsets([partition]))[partition])
        finally:
            await consumer.stop()

    async def _read(self, tp: tuple[str, int], offsets: range) -> list[Record]:
        """The records that exist at `offsets` of one partition, decoded as the agent's topic.

        Offsets absent (compacted away, deleted, transaction markers) are skipped, not awaited:
        the reader stops once its position reaches the offset faust handed over.
        """
        consumer = await self._consumer()
        records: list[Record] = []
        try:
            partition = TopicPartition(*tp)
            consumer.assign([partition])
            consumer.seek(partition, offsets.start)
            while repair_pending(await consumer.position(partition), offsets):
                batch = await consumer.getmany(partition, timeout_ms=1000)
                for record in batch.get(partition, []):
                    if record.offset in offsets:
                        value = (
                            None if record.value is None else codecs.loads(self.codec, record.value)
                        )
                        headers = dict(record.headers or ())
                        at = record.timestamp / 1000 if record.timestamp else None
                        records.append(Record(record.key, value, headers, record.offset, at))
        finally:
            await consumer.stop()
        return records


async def until_read(read: Callable[[], Awaitable[T]], tp: tuple[str, int]) -> T:
    """`read()`, tried again after a pause for as long as Kafka cannot answer it."""
    attempt = 0
    while True:
        try:
            return await read()
        except KafkaError as exc:
            pause = READ_AGAIN_AFTER[min(attempt, len(READ_AGAIN_AFTER) - 1)]
            attempt += 1
            log.warning("%s[%d]: Kafka did not answer (%r); again in %.1f s", *tp, exc, pause)
            await asyncio.sleep(pause)


def flowing(app: Any) -> bool:
    """Is faust handing out messages? It stops the flow first when partitions are revoked."""
    return bool(getattr(app.consumer, "flow_active", True))


async def run_in_flight(
    guard: ContiguousStream,
    stream: StreamT[Any],
    window: InFlight[ItemT, Any],
    items: Callable[[Taken], Iterable[tuple[Hashable, ItemT]]],
) -> None:
    """Hand each taken record's items (key, item) to `window`, acknowledging by hand: the
    window's settle step acknowledges a record (`acknowledge`) once everything up to it in its
    partition is done. When partitions are being revoked or the worker stops, everything in
    flight is finished before faust hands over anything else."""
    manual = cast(Any, stream).noack()  # acknowledged by hand (StreamT does not declare it)
    async for taken in guard.taken(manual):
        for key, item in items(taken):
            await window.admit(taken.tp, key, item)
        if not flowing(guard.rt.app):
            await window.drain()


async def acknowledge(stream: StreamT[Any], taken: Taken) -> None:
    """A record handled, with every earlier one of its partition: settle it and ack it."""
    taken.settle()
    if taken.event is not None:
        await stream.ack(taken.event)
