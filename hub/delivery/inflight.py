"""Many deliveries in flight, each partition settled in offset order. Plain asyncio, no Kafka.

The delivery agent hands each message to `InFlight.admit` as it arrives: at most `limit` run at
once (the channel's own limit: the SMTP pool's size), messages with the same key (the recipient)
run one after another in arrival order, and a message that finished waits until every earlier
message of its partition has finished too. Then the finished run at the head of the partition is
ready to be settled (outcomes written, offsets acknowledged): an offset is never acknowledged
while an earlier one of its partition is still being sent. The planner uses it the same way for
events (the key: the event id; the limit: events planned at once).

Ready runs of every partition are settled together, at once when `batch` are ready or nothing
else is running, otherwise `linger` seconds after the first: messages finishing close together
share one settlement (one outcomes record, one status write, one audit entry per event) instead
of one each, as a producer's linger.ms batches records.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

# How long to wait before running a step that raised again (it never raised in normal work: the
# dispatcher maps every error to an outcome; what is left is writing to Kafka).
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
UNSETTLED_PER_SLOT = 64


@dataclass(eq=False)
class Slot(Generic[ItemT, ResultT]):
    """One admitted item and, once it ran, its result."""

    item: ItemT
    done: asyncio.Event = field(default_factory=asyncio.Event)
    result: ResultT | None = None


class InFlight(Generic[ItemT, ResultT]):
    """Runs admitted items concurrently; settles each partition's finished head in order.

    `run(item)` does one item's work and returns its result; `settle(finished)` receives
    `(item, result)` pairs, of one partition or several, each partition's in admission order,
    once all of them and everything admitted before them in their partition are done. An
    exception in either is logged and the step run again after a pause: an item is never
    settled (acknowledged) without its work.
    """

    def __init__(
        self,
        limit: int,
        run: Callable[[ItemT], Awaitable[ResultT]],
        settle: Callable[[Sequence[tuple[ItemT, ResultT]]], Awaitable[None]],
        *,
        linger: float = 0.0,
        batch: int = 500,
    ) -> None:
        if limit < 1:
            raise ValueError("at least one item must be allowed in flight")
        if linger < 0 or batch < 1:
            raise ValueError("linger cannot be negative and a batch holds at least one item")
        self.limit = limit
        self.linger = linger
        self.batch = batch
        self._run = run
        self._settle = settle
        self._slots = asyncio.Semaphore(limit)
        # Finished items wait for a slow head of their partition; this many at most, so a send
        # that hangs until its timeout does not let the stream pile up messages behind it.
        self._room = asyncio.Semaphore(limit * UNSETTLED_PER_SLOT)
        self._queues: dict[Hashable, deque[Slot[ItemT, ResultT]]] = {}
        self._last_by_key: dict[Hashable, Slot[ItemT, ResultT]] = {}
        self._ready: list[Slot[ItemT, ResultT]] = []  # finished runs, in offset order per partition
        self._settling = asyncio.Lock()  # one settlement at a time keeps each partition in order
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.running = 0  # items between a free slot and their result
        self.most_running = 0  # the highest `running` seen (for tests and logs)

    @property
    def unsettled(self) -> int:
        """Admitted items not yet settled."""
        return sum(len(q) for q in self._queues.values()) + len(self._ready)

    async def admit(self, partition: Hashable, key: Hashable, item: ItemT) -> None:
        """Start `item` once a slot is free (this waits for one: backpressure on the stream)."""
        await self._room.acquire()
        await self._slots.acquire()
        slot: Slot[ItemT, ResultT] = Slot(item)
        self._queues.setdefault(partition, deque()).append(slot)
        before = self._last_by_key.get(key)
        self._last_by_key[key] = slot
        # The task copies this context: faust's current event, so the item's table writes go to
        # its own partition.
        task = asyncio.create_task(self._work(partition, key, slot, before))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until everything admitted has been settled."""
        while self._tasks or self._ready:
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            else:
                await self._settle_ready()

    async def _work(
        self,
        partition: Hashable,
        key: Hashable,
        slot: Slot[ItemT, ResultT],
        before: Slot[ItemT, ResultT] | None,
    ) -> None:
        try:
            if before is not None:  # the same recipient's previous message goes first
                await before.done.wait()
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            try:
                slot.result = await _persist(lambda: self._run(slot.item), "run")
            finally:
                self.running -= 1
            slot.done.set()
            if self._last_by_key.get(key) is slot:
                del self._last_by_key[key]
        finally:
            self._slots.release()
        self._take_finished_head(partition)
        if self.linger == 0 or len(self._ready) >= self.batch or self.running == 0:
            await self._settle_ready()
        elif self._ready and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.linger, self._linger_over)

    def _take_finished_head(self, partition: Hashable) -> None:
        """Move the partition's finished head, in order, to the ready runs (no await: atomic)."""
        queue = self._queues.get(partition)
        while queue and queue[0].done.is_set():
            self._ready.append(queue.popleft())
        if queue is not None and not queue:
            self._queues.pop(partition, None)

    def _linger_over(self) -> None:
        self._timer = None
        task = asyncio.create_task(self._settle_ready())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle_ready(self) -> None:
        """Settle every ready run, in batches of at most `batch`, in the order they became ready."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        async with self._settling:
            while self._ready:
                taken, self._ready = self._ready[: self.batch], self._ready[self.batch :]
                finished = [(slot.item, slot.result) for slot in taken]
                await _persist(lambda: self._settle(finished), "settle")  # type: ignore[arg-type]  # noqa: B023
                for _ in taken:
                    self._room.release()


async def _persist(step: Callable[[], Awaitable[ResultT]], what: str) -> ResultT:
    """Run `step` until it returns; log each exception and try again after a pause."""
    attempt = 0
    while True:
        try:
            return await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
            log.exception(
                "delivery %s failed; trying again in %.1f s (not acknowledged)", what, delay
            )
            attempt += 1
            await asyncio.sleep(delay)
