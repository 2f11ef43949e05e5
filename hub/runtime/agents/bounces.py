"""The bounce agent: count hard bounces per address, pause the email channel at the limit.

Records on the bounces topic are keyed by a SHA-256 of the address (hub.subscribers.bounces), so
one worker counts each address, in a table of its own. The logic is plain Python in
hub.subscribers.bounces and hub.subscribers.selfservice; this loop only reads and writes.
"""

from __future__ import annotations

import logging
from typing import Any

from faust.types import StreamT

from hub.model.subscriber_commands import Cause
from hub.model.subscribers import Subscriber
from hub.runtime.agents.guard import ContiguousStream
from hub.runtime.app import Runtime, utc_now
from hub.subscribers.bounces import address_key, reached_limit, read_record
from hub.subscribers.selfservice import command, pause_channel

log = logging.getLogger(__name__)


def register_bounce_agent(rt: Runtime) -> None:
    prefix = rt.settings.kafka.topic_prefix
    counts = rt.app.Table(f"{prefix}-hard-bounces", default=None)
    bounces = ContiguousStream(rt, "hub.bounces")
    limit = rt.settings.bounces.hard_limit

    @rt.app.agent(rt.app.topic(rt.names.bounces), name="hub.bounces", concurrency=1)
    async def count_bounces(stream: StreamT[Any]) -> None:
        """Count each hard bounce; at the limit, pause the address's email channel (once)."""
        async for _key, value in bounces.items(stream):
            try:
                key, hard, status, action = read_record(value)
            except ValueError as exc:
                log.warning("%s: skipped", exc)
                continue
            if not hard:
                log.debug("bounce %s %s is not hard: not counted", action, status)
                continue
            count = int(counts.get(key) or 0) + 1
            counts[key] = count
            if reached_limit(count, limit):
                await pause_email(rt, key, count)


def subscriber_of(rt: Runtime, key: str) -> Subscriber | None:
    """The subscriber whose address has this key: a scan, done only when a limit is reached."""
    for subscriber in rt.directory:
        if subscriber.email is not None and address_key(subscriber.email) == key:
            return subscriber
    return None


async def pause_email(rt: Runtime, key: str, count: int) -> None:
    subscriber = subscriber_of(rt, key)
    if subscriber is None:
        log.info("%d hard bounces for an address no subscriber has", count)
        return
    changed = pause_channel(subscriber, "email", utc_now())
    reason = f"{count} hard bounces"
    log.info("pausing email for %s: %s", subscriber.id, reason)
    await rt.subscriber_commands.send(
        key=subscriber.id.encode(), value=command(changed, Cause.EMAIL_BOUNCED, "hub", reason)
    )
