"""Which offsets of a partition an agent has not seen: the hub's own check, not faust's. Pure.

faust 0.15 can let an agent skip messages after a restart or a rebalance and still commit past
them (see the README's delivery guarantees). The agent therefore keeps, per partition, the next
offset it expects; a message further on reveals a gap that is read again from Kafka before the
message is handled, so the agent acknowledges an offset only once everything before it was handled.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def baseline(committed: int | None, repair_from: int | None) -> int | None:
    """Where a partition's unhandled work starts, when an agent (re)gets the partition.

    `committed` is the consumer group's offset; `repair_from` the start of a gap the agent began
    to read again and did not finish (the worker died), which faust may have committed past.
    The lower wins.
    """
    known = [o for o in (committed, repair_from) if o is not None and o >= 0]
    return min(known) if known else None


@dataclass
class Contiguity:
    """The next expected offset per partition of one agent, in this process."""

    expected: dict[tuple[str, int], int] = field(default_factory=dict)

    def knows(self, tp: tuple[str, int]) -> bool:
        return tp in self.expected

    def start(self, tp: tuple[str, int], first: int | None) -> None:
        """The partition was (re)assigned and its work starts at `first` (None: at the message)."""
        if first is not None:
            self.expected[tp] = first

    def missing(self, tp: tuple[str, int], offset: int) -> range:
        """Offsets before `offset` never handled: empty for the next message or one read again."""
        expected = self.expected.get(tp, offset)
        return range(expected, offset) if offset > expected else range(0)

    def handled(self, tp: tuple[str, int], offset: int) -> int | None:
        """Record `offset` as handled; the new expected offset when it moved on, else None."""
        before = self.expected.get(tp)
        if before is not None and offset < before:
            return None  # a message read again after a restart: nothing new
        self.expected[tp] = offset + 1
        return offset + 1

    def forget(self) -> None:
        """Partitions were revoked: whoever gets them next starts from what Kafka says."""
        self.expected.clear()
