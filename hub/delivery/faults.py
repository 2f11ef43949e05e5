"""Named kill points for crash tests: HUB_FAULT_KILL_AT="point:n" SIGKILLs the worker there.

A failpoint, as in FoundationDB or TiKV: the worker kills itself at an exact place in the flow
(after a send but before the ledger write, mid fan-out, mid status fold), so a crash test can
prove recovery at chosen points instead of hoping a kill from outside lands somewhere useful.
Unset (the default), a checkpoint costs one dictionary look-up.
"""

from __future__ import annotations

import logging
import os
import signal
from collections import Counter
from collections.abc import Iterator, MutableMapping
from typing import Any

log = logging.getLogger(__name__)

# The points the hub passes through, in the order a delivery meets them.
POINTS = (
    "plan.delivery",  # the planner wrote one delivery of a fan-out
    "deliver.sent",  # the channel accepted a message; the ledger does not know yet
    "deliver.recorded",  # the ledger knows; the outcome is not written yet
    "deliver.done",  # the outcome is written; the offset is not committed yet
    "status.fold",  # the status agent folded a record: reached once per outcome in it
)


def parse(spec: str) -> dict[str, int]:
    """Read "deliver.sent:3,plan.delivery:100" as {point: the hit to die at}; refuse bad parts."""
    kills: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        point, _, count = part.partition(":")
        if point not in POINTS or not count.isdigit() or int(count) < 1:
            raise ValueError(f"HUB_FAULT_KILL_AT: {part!r} is not <point>:<n> with a known point")
        kills[point] = int(count)
    return kills


class KillPoints:
    """Counts hits per point and kills this process at the configured one."""

    def __init__(self, spec: str = "") -> None:
        self.kills = parse(spec)
        self.hits: Counter[str] = Counter()

    def reached(self, point: str) -> None:
        if not self.kills:
            return
        self.hits[point] += 1
        if self.hits[point] == self.kills.get(point):
            log.warning("fault injection: killing the worker at %s #%d", point, self.hits[point])
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)


_points = KillPoints()


def arm(spec: str) -> None:
    """Configure the kill points of this process (the worker does it from its settings)."""
    global _points
    _points = KillPoints(spec)


def reached(point: str) -> None:
    """Mark that the flow passed `point`; dies here if this is the configured hit."""
    _points.reached(point)


class SentLedger(MutableMapping[str, Any]):
    """A delivery ledger that passes `deliver.sent` just before it records a message as sent."""

    def __init__(self, ledger: MutableMapping[str, Any]) -> None:
        self.ledger = ledger

    def __getitem__(self, key: str) -> Any:
        return self.ledger[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.ledger.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        if value == "sent":
            reached("deliver.sent")
        self.ledger[key] = value

    def __delitem__(self, key: str) -> None:
        del self.ledger[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.ledger)

    def __len__(self) -> int:
        return len(self.ledger)
