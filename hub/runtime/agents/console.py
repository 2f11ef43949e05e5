"""The console's scheduler: publishes scheduled submissions when their time comes (leader only)."""

from __future__ import annotations

import logging

from hub import metrics
from hub.console.publishing import publish_due
from hub.runtime.app import Runtime, utc_now
from hub.runtime.services import Audit, ConsoleTopic, Publisher

log = logging.getLogger(__name__)

SCHEDULER_SECONDS = 1.0  # how late a scheduled event may go out, at most (plus the publish)


def register_console_scheduler(rt: Runtime) -> None:
    store, trail = ConsoleTopic(rt), Audit(rt)
    publisher = metrics.CountedPublisher(Publisher(rt), "console")

    @rt.app.timer(interval=SCHEDULER_SECONDS, on_leader=True)  # type: ignore[untyped-decorator]
    async def publish_scheduled() -> None:
        # The submissions live in Kafka: a restart, or another leader, finds what is still due.
        if not store.ready:
            return
        for done in await publish_due(
            store,
            utc_now(),
            catalog=rt.catalog,
            publisher=publisher,
            trail=trail,
            settings=rt.settings,
        ):
            log.info("console: published scheduled event %s", done.id, extra={"event_id": done.id})
