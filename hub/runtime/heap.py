"""Keeping the worker's long-lived objects out of the garbage collector's full passes.

The subscriber index holds a few objects per person for the worker's whole life. CPython's full
collection walks every tracked object, and a fan-out allocates enough to start one: at 10,000
subscribers that pass held the event loop for 150-200 ms in the middle of planning (no API
answer, no send meanwhile). `gc.freeze()` moves what is alive now to a generation the collector
never walks, in a few milliseconds. Frozen objects are still freed by reference counting when
dropped; what is never reclaimed is cyclic garbage frozen with them, or a frozen object that
later ends up in a reference cycle. So the heap is frozen only when the index has grown by a
quarter since the last time (10 times on the way to 10,000 subscribers, 21 to 100,000), and
without a collection first, which would be the very pause this avoids.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

# Below this many subscribers a full collection is short: nothing to gain.
SMALLEST_INDEX = 1_000
GROWTH = 1.25


class HeapKeeper:
    """Freezes the heap when the subscriber index has grown enough since the last freeze."""

    def __init__(self, smallest: int = SMALLEST_INDEX, growth: float = GROWTH) -> None:
        self.smallest = smallest
        self.growth = growth
        self.frozen_at = 0  # index size at the last freeze

    def due(self, index_size: int) -> bool:
        return index_size >= self.smallest and index_size >= self.frozen_at * self.growth

    def settle(self, index_size: int) -> bool:
        """Freeze the heap if the index grew enough; whether it did."""
        if not self.due(index_size):
            return False
        gc.freeze()
        self.frozen_at = index_size
        log.info("heap frozen at %d subscribers (%d objects)", index_size, gc.get_freeze_count())
        return True
