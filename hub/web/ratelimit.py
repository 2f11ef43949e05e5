"""Sliding-window counters per client, in this worker's memory.

They hold per worker: with N workers behind a balancer a client gets up to N times the limit.
That is enough to stop one machine hammering the forms; the limit that protects an inbox (emails
per address) is enforced once for all workers by the subscriber agent
(hub/subscribers/mail_limits.py).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque


class SlidingWindow:
    """At most `limit` hits per key in any `window` seconds; memory bounded by `max_keys`."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def waiting(self, key: str, now: float) -> float:
        """The seconds to wait before a hit of `key` would be allowed (0: now), counting none."""
        hits = self._hits.get(key)
        if hits is None:
            return 0.0
        recent = [t for t in hits if now - t < self.window]
        if len(recent) >= self.limit:
            return max(1.0, math.ceil(recent[0] + self.window - now))
        return 0.0

    def hit(self, key: str, now: float) -> float:
        """Count one hit; 0 if allowed, else the seconds to wait (the hit is not counted)."""
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            if len(self._hits) > self.max_keys:  # forget the longest-quiet client first
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1.0, math.ceil(hits[0] + self.window - now))
        hits.append(now)
        return 0.0
