"""Faust's Kafka consumer, made to rewind partitions that have no committed offset.

faust seeks every partition "to its committed offset" after a rebalance (and when its fetch loop
finds the flow stopped). aiokafka's `seek_to_committed` only seeks partitions whose committed
offset is above 0: a partition never committed keeps its fetch position, which may lie past
records fetched but dropped when a rebalance cut a batch short. Those records were then never
handed to any agent. The hub's agents notice such a gap only when a later record of the
partition arrives (hub.runtime.agents.guard); an event topic's partition holding one event has
no later record, and the event was never planned. Here those partitions go back to their first
offset, as a consumer group without a commit does (`auto_offset_reset="earliest"`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from hub.runtime.contiguity import never_committed


class RewindingConsumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer; partitions without a commit restart at their first offset."""

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        # Table changelogs are never committed: recovery positions them itself.
        rewind = never_committed(committed, self.app.tables.changelog_topics)
        if rewind:
            await self._thread.seek_to_beginning(*rewind)
        return committed


class RewindingTransport(faust_aiokafka.Transport):
    """The kafka:// transport, with the consumer above."""

    Consumer: ClassVar[type[Any]] = RewindingConsumer
