"""Deliveries in flight (hub.delivery.inflight): concurrency bound, per-key order, settling in
offset order per partition, and no settlement without the work."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from hub.delivery import inflight
from hub.delivery.inflight import InFlight

Item = tuple[str, str, int]  # (partition, key, offset)


class Recorder:
    """Items run when the test releases them; what was settled, in which groups."""

    def __init__(self) -> None:
        self.release: dict[int, asyncio.Event] = {}
        self.started: list[int] = []
        self.settled: list[list[int]] = []
        self.failures: dict[int, int] = {}  # offset -> times its run raises first

    def gate(self, offset: int) -> asyncio.Event:
        return self.release.setdefault(offset, asyncio.Event())

    async def run(self, item: Item) -> int:
        offset = item[2]
        self.started.append(offset)
        await self.gate(offset).wait()
        if self.failures.get(offset, 0) > 0:
            self.failures[offset] -= 1
            raise RuntimeError(f"broker hiccup at {offset}")
        return offset * 10

    async def settle(self, finished: Sequence[tuple[Item, int]]) -> None:
        assert all(result == item[2] * 10 for item, result in finished)
        self.settled.append([item[2] for item, _ in finished])


async def until(condition: object, what: str) -> None:
    for _ in range(1000):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never: {what}")


async def test_runs_up_to_the_limit_at_once_and_settles_in_offset_order() -> None:
    rec = Recorder()
    window: InFlight[Item, int] = InFlight(3, rec.run, rec.settle)
    admitted = asyncio.create_task(_admit(window, [("p0", f"k{i}", i) for i in range(5)]))
    await until(lambda: len(rec.started) == 3, "three running")
    assert not admitted.done()  # the fourth waits for a free slot
    rec.gate(2).set()
    rec.gate(1).set()
    await until(lambda: len(rec.started) == 5, "the others started")
    assert rec.settled == []  # 1 and 2 finished, but 0 (before them) has not
    rec.gate(0).set()
    await until(lambda: rec.settled == [[0, 1, 2]], "0-2 settled together")
    rec.gate(4).set()
    await asyncio.sleep(0)
    assert rec.settled == [[0, 1, 2]]
    rec.gate(3).set()
    await admitted
    await window.drain()
    assert rec.settled == [[0, 1, 2], [3, 4]]
    assert window.most_running == 3 and window.unsettled == 0


async def test_partitions_settle_independently() -> None:
    rec = Recorder()
    window: InFlight[Item, int] = InFlight(4, rec.run, rec.settle)
    await _admit(window, [("p0", "a", 0), ("p1", "b", 1), ("p0", "c", 2)])
    rec.gate(1).set()
    await until(lambda: rec.settled == [[1]], "p1 settled while p0 waits")
    rec.gate(2).set()
    await asyncio.sleep(0)
    assert rec.settled == [[1]]
    rec.gate(0).set()
    await window.drain()
    assert rec.settled == [[1], [0, 2]]


async def test_messages_to_one_recipient_run_one_after_another() -> None:
    rec = Recorder()
    window: InFlight[Item, int] = InFlight(4, rec.run, rec.settle)
    await _admit(window, [("p0", "same", 0), ("p0", "other", 1), ("p0", "same", 2)])
    await until(lambda: rec.started == [0, 1], "the first two running")
    await asyncio.sleep(0)
    assert 2 not in rec.started  # waits for 0, the same recipient's earlier message
    rec.gate(0).set()
    await until(lambda: 2 in rec.started, "the second message to the same key")
    rec.gate(1).set()
    rec.gate(2).set()
    await window.drain()
    assert [offset for group in rec.settled for offset in group] == [0, 1, 2]


async def test_a_step_that_raises_runs_again_and_is_never_settled_without_its_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inflight, "RETRY_DELAYS", (0.0,))
    rec = Recorder()
    rec.failures[0] = 2
    window: InFlight[Item, int] = InFlight(2, rec.run, rec.settle)
    await _admit(window, [("p0", "a", 0), ("p0", "b", 1)])
    rec.gate(1).set()
    rec.gate(0).set()
    await window.drain()
    assert rec.started.count(0) == 3  # two failures, then the work
    assert rec.settled == [[0, 1]]


async def test_a_settlement_that_raises_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inflight, "RETRY_DELAYS", (0.0,))
    rec = Recorder()
    calls: list[list[int]] = []

    async def flaky_settle(finished: Sequence[tuple[Item, int]]) -> None:
        calls.append([item[2] for item, _ in finished])
        if len(calls) == 1:
            raise RuntimeError("outcomes topic unavailable")
        await rec.settle(finished)

    window: InFlight[Item, int] = InFlight(2, rec.run, flaky_settle)
    await _admit(window, [("p0", "a", 0)])
    rec.gate(0).set()
    await window.drain()
    assert calls == [[0], [0]] and rec.settled == [[0]]


async def test_a_lingering_run_waits_for_what_finishes_close_behind_it() -> None:
    rec = Recorder()
    window: InFlight[Item, int] = InFlight(5, rec.run, rec.settle, linger=3600, batch=3)
    await _admit(window, [("p0", f"k{i}", i) for i in range(5)])
    await until(lambda: len(rec.started) == 5, "all five running")
    rec.gate(0).set()
    rec.gate(1).set()
    await until(lambda: window.running == 3, "0 and 1 finished")
    await asyncio.sleep(0)
    assert rec.settled == []  # 2-4 still running behind them: they wait for company
    rec.gate(2).set()
    await until(lambda: rec.settled == [[0, 1, 2]], "a full batch settled at once")
    rec.gate(4).set()
    await asyncio.sleep(0)
    assert rec.settled == [[0, 1, 2]]  # 4 waits for 3, before it
    rec.gate(3).set()
    await until(lambda: rec.settled == [[0, 1, 2], [3, 4]], "nothing left behind: at once")
    assert window.unsettled == 0


async def test_a_lingering_run_is_settled_after_the_linger_without_the_rest() -> None:
    rec = Recorder()
    settled = asyncio.Event()

    async def settle(finished: Sequence[tuple[Item, int]]) -> None:
        await rec.settle(finished)
        settled.set()

    window: InFlight[Item, int] = InFlight(3, rec.run, settle, linger=0.01)
    await _admit(window, [("p0", f"k{i}", i) for i in range(3)])
    await until(lambda: len(rec.started) == 3, "all three running")
    rec.gate(0).set()
    rec.gate(1).set()
    await asyncio.wait_for(settled.wait(), timeout=10)
    assert rec.settled == [[0, 1]]  # 2, still running, is never settled ahead of its work
    rec.gate(2).set()
    await window.drain()
    assert rec.settled == [[0, 1], [2]]


async def test_runs_of_several_partitions_ready_together_share_one_settlement() -> None:
    rec = Recorder()
    window: InFlight[Item, int] = InFlight(4, rec.run, rec.settle, linger=3600, batch=3)
    await _admit(window, [("p0", "a", 0), ("p1", "b", 1), ("p2", "c", 2), ("p0", "d", 3)])
    await until(lambda: len(rec.started) == 4, "all four running")
    rec.gate(1).set()
    rec.gate(2).set()
    await until(lambda: window.running == 2, "p1 and p2 finished")
    await asyncio.sleep(0)
    assert rec.settled == []  # ready, lingering for company
    rec.gate(0).set()
    await until(lambda: rec.settled == [[1, 2, 0]], "three ready runs in one settlement")
    rec.gate(3).set()
    await window.drain()
    assert rec.settled == [[1, 2, 0], [3]]


def test_at_least_one_in_flight() -> None:
    with pytest.raises(ValueError, match="at least one"):
        InFlight(0, Recorder().run, Recorder().settle)
    with pytest.raises(ValueError, match="at least one item"):
        InFlight(1, Recorder().run, Recorder().settle, batch=0)


async def _admit(window: InFlight[Item, int], items: list[Item]) -> None:
    for item in items:
        await window.admit(item[0], item[1], item)
