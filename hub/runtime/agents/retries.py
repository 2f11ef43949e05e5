"""A channel's retry agents: retries wait in delay tiers, so no backoff holds up another."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faust.types import StreamT, TopicT

from hub import metrics
from hub.delivery.retry import hand_off_at, next_hop, scheduled, seconds_until, tier_label
from hub.runtime.agents.guard import ContiguousStream, flowing
from hub.runtime.app import ChannelRuntime, Runtime, utc_now

# How often a waiting tier agent looks whether the group is rebalancing.
STEP_SECONDS = 0.5

# Sends a retry on: to its channel if due, else to the tier for its remaining wait (with the
# headers it carries on: when its event was published, hub.metrics).
Forward = Callable[[bytes, Any, str | None, Mapping[str, Any]], Awaitable[None]]


def register_retry_agents(rt: Runtime, channel: ChannelRuntime) -> None:
    """One agent where retries arrive (routing them at once) and one per delay tier.

    A retry goes to the largest tier not exceeding its remaining wait; each tier's agent reads in
    order and waits only for its head (the earliest to come due in that tier), then hands it to
    the channel if due, or to the tier for what remains. A rebalance is never held up: a tier
    agent that is waiting when the flow stops hands its head on at once, for its remaining time.
    """
    app = rt.app
    tiers = rt.settings.retry.tiers
    arrivals = ContiguousStream(rt, f"hub.{channel.key}-retry")

    async def forward(
        key: bytes, message: Any, not_before: str | None, headers: Mapping[str, Any]
    ) -> None:
        hop = next_hop(not_before, utc_now(), tiers)
        carried = metrics.published_header(metrics.published_at(headers, None))
        if hop.tier is None:
            await channel.deliveries.send(key=key, value=message, headers=carried or None)
        else:
            topic = channel.retry_tiers[hop.tier]
            await topic.send(key=key, value=message, headers={**carried, **hop.headers()})

    # The agent keeps the name (and so the committed offsets) of the one that used to wait on
    # this topic itself: retries written before the tiers existed drain through the tiers.
    @app.agent(channel.retries, name=f"hub.{channel.key}-retry", concurrency=1)
    async def arrive(stream: StreamT[Any]) -> None:
        """Send each new retry on to its tier (or to the channel, if already due)."""
        async for record in arrivals.records(stream):
            due = scheduled(record.value)
            await forward(due.key, record.value, due.not_before, record.headers)

    for delay, topic in zip(tiers, channel.retry_tiers, strict=True):
        register_tier(rt, channel, topic, tier_label(delay), forward)


def register_tier(
    rt: Runtime, channel: ChannelRuntime, topic: TopicT, label: str, forward: Forward
) -> None:
    app = rt.app
    name = f"hub.{channel.key}-retry-{label}"
    guard = ContiguousStream(rt, name)

    @app.agent(topic, name=name, concurrency=1)
    async def wait_in_tier(stream: StreamT[Any]) -> None:
        """Hold the head of this tier until its hand-off time, then pass it on."""
        async for record in guard.records(stream):
            due = scheduled(record.value)
            await wait_for(app, hand_off_at(record.headers, due.not_before))
            # Due: to the channel. Not yet (a shorter wait remains, or the flow stopped): to the
            # tier for what remains, never past when it is due (a copy read twice is stopped
            # by the ledger).
            await forward(due.key, record.value, due.not_before, record.headers)


async def wait_for(app: Any, until: str | None) -> None:
    """Sleep until `until`, in short steps: a rebalance waits for every agent to finish its
    message, so a tier agent stops waiting as soon as the group rebalances."""
    wait = seconds_until(until, utc_now())
    while wait > 0 and flowing(app) and not app.rebalancing:
        await asyncio.sleep(min(wait, STEP_SECONDS))
        wait = seconds_until(until, utc_now())
