"""An event counts as planned only once the brokers acknowledged every record of its deliveries:
a worker killed before that plans it again instead of skipping it. Plain asyncio, no Kafka."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bench.planning import EXAMPLE, JsonTable, runtime
from bench.subscribers import records
from hub.runtime.agents.planning import plan_one
from hub.subscribers.directory import Directory


class HeldProducer:
    """Takes records at once but acknowledges them only when told to."""

    def __init__(self) -> None:
        self.pending: list[asyncio.Future[Any]] = []
        self.written = 0

    async def send(self, *_: Any) -> asyncio.Future[Any]:
        self.written += 1
        acknowledged: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append(acknowledged)
        return acknowledged

    async def send_and_wait(self, *_: Any) -> Any:
        class Written:
            partition, offset = 0, self.written

        self.written += 1
        return Written()


async def run_until_waiting() -> None:
    """Let the planner run until it waits on something only the test can give (no clock)."""
    for _ in range(500):
        await asyncio.sleep(0)


async def test_the_event_is_marked_planned_only_after_every_delivery_record_is_acknowledged() -> (
    None
):
    table = JsonTable()
    for record in records(300):
        table[record["id"]] = record
    directory = Directory(table)
    await directory.build()
    rt = runtime(directory, table)
    producer = HeldProducer()
    rt.app.producer = producer
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    planning = asyncio.create_task(plan_one(rt, document))  # type: ignore[arg-type]
    await run_until_waiting()
    # Every record handed to the producer, none acknowledged: not planned yet.
    assert len(producer.pending) >= 2 and not planning.done()
    assert document["id"] not in rt.planned
    for acknowledged in producer.pending[:-1]:
        acknowledged.set_result(None)
    await run_until_waiting()
    assert document["id"] not in rt.planned  # one still unacknowledged
    producer.pending[-1].set_result(None)
    await planning
    assert document["id"] in rt.planned
