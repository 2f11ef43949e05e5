"""The delivery ledger's writes can be awaited until the changelog has them (hub.runtime.ledger).

The changelog producer is the only thing replaced: what the broker would answer is a future the
test settles, so each step (written, waiting, acknowledged or failed) can be seen in turn.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import faust

from hub.runtime.ledger import ConfirmedTable, confirmed_table


class ChangelogByHand(ConfirmedTable):
    """A ConfirmedTable whose changelog writes are futures the test settles."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[Any, Any, asyncio.Future[Any]]] = []

    def partition_for_key(self, key: Any) -> int:
        return 0  # the delivery's partition, which faust reads from the current event

    def send_changelog(self, partition: Any, key: Any, value: Any, *args: Any) -> Any:
        written: Any = asyncio.get_running_loop().create_future()
        written.message = SimpleNamespace(partition=partition)
        self.sent.append((key, value, written))
        return written


def ledger() -> ChangelogByHand:
    app = faust.App("confirmed-ledger-test", broker="memory://", store="memory://")
    table = ChangelogByHand(app, name="ledger", beacon=app.tables.beacon, default=None)
    app.tables.add(table)
    return table


async def test_confirmed_waits_for_the_broker_to_acknowledge_the_last_write() -> None:
    table = ledger()
    table["d1"] = "sent"
    assert table["d1"] == "sent"  # the local store has it at once
    waiting = asyncio.ensure_future(table.confirmed("d1"))
    await asyncio.sleep(0)
    assert not waiting.done()  # the changelog does not have it yet
    (_, value, written) = table.sent[-1]
    assert value == "sent"
    written.set_result(None)
    assert await waiting is True
    assert "d1" not in table.unconfirmed  # nothing kept once acknowledged


async def test_a_key_without_a_pending_write_is_confirmed_at_once() -> None:
    assert await ledger().confirmed("never-written") is True


async def test_a_failed_changelog_write_is_reported_not_raised() -> None:
    table = ledger()
    table["d1"] = "sent"
    table.sent[-1][2].set_exception(ConnectionError("broker gone"))
    assert await table.confirmed("d1") is False
    assert table["d1"] == "sent"


async def test_a_later_write_of_the_key_is_the_one_waited_for() -> None:
    table = ledger()
    table["d1"] = "retrying"
    table["d1"] = "sent"
    first, last = table.sent[0][2], table.sent[1][2]
    first.set_result(None)  # the earlier write's acknowledgement does not confirm the later
    await asyncio.sleep(0)
    waiting = asyncio.ensure_future(table.confirmed("d1"))
    await asyncio.sleep(0)
    assert not waiting.done()
    last.set_result(None)
    assert await waiting is True


def test_the_ledger_is_declared_on_the_app_like_any_table() -> None:
    app = faust.App("confirmed-ledger-declared", broker="memory://", store="memory://")
    table = confirmed_table(app, "ledger-email", default=None)
    assert isinstance(table, ConfirmedTable)
    assert app.tables["ledger-email"] is table
