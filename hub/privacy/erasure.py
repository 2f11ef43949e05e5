"""What makes an erasure complete in bounded time: compaction settings and the segment roll. Pure.

Erasing a subscriber writes a tombstone to the compacted subscribers topic; the subscriber agent
removes the record from the table, which writes a tombstone to the table's changelog. Older values
stay readable in both topics until the log cleaner compacts them, and Kafka never compacts the
active segment, which it rolls only when a record is appended after `segment.ms`. So both topics
are created with `segment.ms` and `max.compaction.lag.ms` set to the erasure window, and the leader
appends a roll marker (a tombstone under a key no subscriber has) to each of them once per window:
an erased record, and the data key inside it that sealed the person's messages, are gone from Kafka
within about two windows plus the broker's cleaner back-off (15 s by default).
"""

from __future__ import annotations

# A key no subscriber id can take: its tombstones only make the active segment roll.
ROLL_KEY = "\x00erasure-roll"
# Tombstones hold only an id; they stay a day so that a worker that was away still sees them.
TOMBSTONE_RETENTION_MS = 24 * 3600 * 1000


def compaction_config(window_seconds: float) -> dict[str, str]:
    """Topic settings for a compacted topic that holds people's records."""
    window_ms = str(max(1, int(window_seconds * 1000)))
    return {
        "cleanup.policy": "compact",
        "segment.ms": window_ms,
        "max.compaction.lag.ms": window_ms,
        "delete.retention.ms": str(TOMBSTONE_RETENTION_MS),
    }


def is_roll_marker(key: str) -> bool:
    return key == ROLL_KEY
