"""The segment roll that lets the log cleaner finish an erasure (see hub.privacy.erasure)."""

from __future__ import annotations

import logging

from hub.privacy.erasure import ROLL_KEY
from hub.runtime.app import Runtime

log = logging.getLogger(__name__)


def register_erasure_timer(rt: Runtime) -> None:
    """Once per erasure window, append a roll marker to each topic that holds people's records.

    Kafka rolls a segment only when a record arrives after `segment.ms`, and never compacts the
    active one; a quiet subscribers topic would otherwise keep an erased record for ever.
    """

    @rt.app.timer(interval=rt.settings.erasure.window_seconds, on_leader=True)  # type: ignore[untyped-decorator]
    async def roll_people_topics() -> None:
        topics = [rt.names.subscribers, rt.subscriber_records.changelog_topic.get_topic_name()]
        try:
            for topic in topics:
                # Both have one partition (hub.runtime.worker, hub.runtime.app); the marker is a
                # tombstone.
                await rt.app.producer.send_and_wait(topic, ROLL_KEY.encode(), None, 0, None, None)
        except Exception:  # an exception escaping a timer would stop the whole worker
            log.exception("segment roll of %s failed; trying again next window", topics)
