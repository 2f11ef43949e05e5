"""The heap keeper (hub.runtime.heap): the heap is frozen once the index is big enough, then
again only after it has grown by a quarter; what it freezes is out of the collector's passes.

Each case freezes a heap of its own, in a child process: frozen objects of the test process
would be finalised later inside whichever test happens to run then."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(code: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_small_indexes_are_left_alone_and_growth_is_needed_between_freezes() -> None:
    run(
        """
        from hub.runtime.heap import HeapKeeper
        keeper = HeapKeeper(smallest=1000, growth=1.25)
        assert not keeper.settle(999)
        assert keeper.settle(1000) and keeper.frozen_at == 1000
        assert not keeper.settle(1249)
        assert keeper.settle(1250)
        assert not keeper.settle(1250)
        """
    )


def test_what_was_alive_at_the_freeze_is_no_longer_walked_by_the_collector() -> None:
    run(
        """
        import gc
        from hub.runtime.heap import HeapKeeper
        held = [[index] for index in range(10_000)]  # long-lived, tracked, like the index
        before = gc.get_freeze_count()
        assert HeapKeeper(smallest=1).settle(1)
        assert gc.get_freeze_count() >= before + len(held)
        walked = {id(obj) for generation in range(3) for obj in gc.get_objects(generation)}
        assert all(gc.is_tracked(item) and id(item) not in walked for item in held)
        """
    )
