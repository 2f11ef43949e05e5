"""A diagnostic sensor (HUB_TRACE_OFFSETS=true): what reached the agents, what faust committed.

Used to find why messages were skipped after a crash; off by default (one log line a message).
"""

from __future__ import annotations

import logging
from typing import Any

import faust

log = logging.getLogger("hub.offsets")


class OffsetTrace(faust.Sensor):
    """Logs, for the topics named, each message handed to a stream and each committed offset."""

    def __init__(self, topic_part: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topic_part = topic_part
        self.committed: dict[Any, int] = {}

    def _watched(self, tp: Any) -> bool:
        return self.topic_part in str(tp.topic)

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        if self._watched(tp):
            log.info("trace: handed over %s[%d]@%d", tp.topic, tp.partition, offset)

    def on_commit_completed(self, consumer: Any, state: Any) -> None:
        for tp, offset in dict(getattr(consumer, "_committed_offset", {})).items():
            if self._watched(tp) and offset is not None and self.committed.get(tp) != offset:
                self.committed[tp] = offset
                log.info("trace: committed %s[%d]@%d", tp.topic, tp.partition, offset)

    def on_rebalance_start(self, app: Any) -> dict[str, Any]:
        log.info("trace: rebalance starts")
        return dict(super().on_rebalance_start(app))

    def on_rebalance_end(self, app: Any, state: dict[str, Any]) -> None:
        consumer = app.consumer
        reads = {
            f"{tp.topic}[{tp.partition}]": offset
            for tp, offset in dict(getattr(consumer, "_read_offset", {})).items()
            if self._watched(tp)
        }
        log.info("trace: rebalance ends; read offsets %s", reads)
        super().on_rebalance_end(app, state)
