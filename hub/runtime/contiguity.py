"""Which offsets of a partition an agent has not seen: the hub's own check, not faust's. Pure.

faust 0.15 can let an agent skip messages after a restart or a rebalance and still commit past
them (see the README's delivery guarantees). The agent therefore keeps, per partition, the next
offset it expects; a message further on reveals a gap that is read again from Kafka before the
message is handled, so the agent acknowledges an offset only once everything before it was handled.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any


def baseline(
    committed: int | None, repair_from: int | None, log_start: int | None = None
) -> int | None:
    """Where a partition's unhandled work starts, when an agent (re)gets the partition.

    `committed` is the consumer group's offset; `repair_from` the start of a gap the agent began
    to read again and did not finish (the worker died), which faust may have committed past.
    The lower wins. Without a commit the group starts at the log's start (the hub reads from the
    earliest offset), so messages faust skips before its first commit are a gap too.
    """
    if committed is None or committed < 0:
        committed = log_start
    known = [o for o in (committed, repair_from) if o is not None and o >= 0]
    return min(known) if known else None


def never_committed(committed: Mapping[Any, int | None], skip_topics: Collection[str]) -> list[Any]:
    """The partitions, of `committed` (partition -> the group's offset, None for none), whose
    work starts at the log's first offset: no commit, or a commit of offset 0. Partitions of
    `skip_topics` (table changelogs, positioned by recovery) are left out."""
    return [tp for tp, offset in committed.items() if not offset and tp.topic not in skip_topics]


def repair_pending(position: int, gap: range) -> bool:
    """Whether a re-read of `gap` must fetch on from `position` (the reader's next offset).

    Done once the position reaches the offset that revealed the gap, whatever the records found:
    on a compacted topic (or one whose older records were deleted, or with transaction markers)
    offsets of a gap may simply not exist, and are not waited for.
    """
    return position < gap.stop


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
