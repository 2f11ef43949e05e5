"""The delivery ledger as a faust table whose changelog writes can be awaited, key by key."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from faust.types import AppT

log = logging.getLogger(__name__)


class ConfirmedTable(faust.Table[Any, Any]):
    """A table that keeps, per key, its last changelog write until the broker acknowledges it.

    faust sends a table's changelog in the background. A worker killed in that gap takes the
    write with it, and the worker that takes its partitions over restores a ledger without it:
    every message sent in the gap goes out again. Waiting for `confirmed(key)` before a
    message's slot is freed keeps that gap to the messages in flight.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unconfirmed: dict[Any, asyncio.Future[Any]] = {}

    def on_key_set(self, key: Any, value: Any) -> None:
        written = self.send_changelog(self.partition_for_key(key), key, value)
        partition = written.message.partition
        assert partition is not None  # faust's own invariant (eager partitioning)
        self._maybe_set_key_ttl(key, partition)
        self._sensor_on_set(self, key, value)
        self.unconfirmed[key] = written
        written.add_done_callback(lambda done: self._settled(key, done))

    def _settled(self, key: Any, done: asyncio.Future[Any]) -> None:
        if self.unconfirmed.get(key) is done:
            del self.unconfirmed[key]

    async def confirmed(self, key: Any) -> bool:
        """Wait until the last write of `key` is in the changelog; False if it failed there
        (the local store still has it: only a worker taking over would miss it)."""
        written = self.unconfirmed.get(key)
        if written is None:
            return True
        try:
            await asyncio.shield(written)
        except Exception as exc:  # the producer's own retries are spent: say so, go on
            log.warning("ledger write of %s not confirmed by the broker: %r", key, exc)
            return False
        return True


def confirmed_table(app: AppT, name: str, **options: Any) -> ConfirmedTable:
    """Declare a `ConfirmedTable` on `app` as `app.Table` declares its own."""
    table = ConfirmedTable(app, name=name, beacon=app.tables.beacon, **options)
    app.tables.add(table)
    return table
