"""Per-channel delivery agents, and what a blocked or moved recipient changes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from faust.types import StreamT

from hub import metrics
from hub.delivery import faults
from hub.delivery.dispatch import Dispatched
from hub.delivery.inflight import InFlight
from hub.model.deliveries import ChannelKey, Delivery, messages_in
from hub.model.events import Event
from hub.model.outcomes import OutcomeStatus
from hub.model.subscriber_commands import Cause
from hub.planning.routing import broadcasts
from hub.runtime.agents.guard import ContiguousStream, Record, Taken, acknowledge, run_in_flight
from hub.runtime.agents.outcomes import record_outcomes
from hub.runtime.app import ChannelRuntime, Runtime, utc_now
from hub.subscribers.selfservice import command, move_chat, pause_channel

log = logging.getLogger(__name__)

# Messages finishing within this of one another are settled together: one outcomes record, one
# status write and one audit entry for the run instead of one each (at a few hundred emails a
# second, runs of dozens). Short next to what a reader of the status waits for, and well under
# the stream's own pause between commits (2.8 s).
SETTLE_LINGER_SECONDS = 0.1


def register_channel_agents(
    rt: Runtime,
    channel: ChannelRuntime,
) -> None:
    """The delivery agent of one channel (email, telegram); its retries: agents.retries."""
    app = rt.app
    deliveries = ContiguousStream(rt, f"hub.{channel.key}")

    @app.agent(channel.deliveries, name=f"hub.{channel.key}", concurrency=1)
    async def deliver(stream: StreamT[Any]) -> None:
        """Send each planned message once; schedule a retry or keep a dead letter on failure.

        Up to the channel's `max_in_flight` messages are sent at once (the SMTP pool's size);
        offsets are acknowledged by hand, in order per partition, once every message up to
        there has finished and its outcome is written (hub.delivery.inflight).
        """

        async def settle(finished: Sequence[tuple[Message, Dispatched]]) -> None:
            await record_outcomes(rt, [result.outcome for _, result in finished])
            for message, _ in finished:
                faults.reached("deliver.done")
                if message.last:  # every message of its record is settled: acknowledge it
                    await acknowledge(stream, message.taken)

        window: InFlight[Message, Dispatched] = InFlight(
            channel.channel.max_in_flight,
            lambda message: send(rt, channel, message.record),
            settle,
            linger=SETTLE_LINGER_SECONDS,
        )
        await run_in_flight(
            deliveries,
            stream,
            window,
            lambda taken: [(message.record.key, message) for message in messages_of(taken)],
        )


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery message of a taken record (a record holds one, or a roster or batch)."""

    taken: Taken
    record: Record
    last: bool  # the record's last message: once it is settled, the record is acknowledged


def messages_of(taken: Taken) -> list[Message]:
    """The messages of a record, each keyed by its recipient (one recipient's messages are
    sent one after another). An empty batch stays one message: a dead letter says why."""
    values = messages_in(taken.record.value) or [taken.record.value]
    if len(values) == 1 and values[0] is taken.record.value:
        return [Message(taken, taken.record, last=True)]
    last = len(values) - 1
    return [
        Message(taken, replace(taken.record, key=_recipient_key(value), value=value), index == last)
        for index, value in enumerate(values)
    ]


def _recipient_key(message: object) -> bytes:
    recipient = message.get("recipient") if isinstance(message, dict) else None
    return str(recipient.get("id", "") if isinstance(recipient, dict) else "").encode()


async def send(rt: Runtime, channel: ChannelRuntime, record: Record) -> Dispatched:
    """One delivery: the dispatcher's decision, then the retry, dead letter or subscriber
    change it calls for (the outcome is written with its batch, before the acknowledgement)."""
    result = await channel.dispatcher.dispatch(record.value)
    published = metrics.published_at(record.headers, record.timestamp)
    if result.outcome.status is OutcomeStatus.DUPLICATE:
        # Written again: the local store may know it was sent while the changelog (what
        # another worker would restore) lost that write in a crash.
        channel.ledger[result.outcome.delivery_id] = OutcomeStatus.SENT.value
    if result.outcome.status in (OutcomeStatus.SENT, OutcomeStatus.DUPLICATE):
        # The message's slot stays taken until the changelog has its ledger entry: a worker
        # killed now repeats at most the messages in flight, not all its unflushed writes.
        await channel.ledger.confirmed(result.outcome.delivery_id)
    faults.reached("deliver.recorded")
    if result.retry is not None:
        key = str(result.outcome.recipient_id).encode()
        # The retry keeps when its event was published: its latency counts from there.
        carried = metrics.published_header(published) or None
        await channel.retries.send(key=key, value=result.retry, headers=carried)
    if result.dead_letter is not None:
        await channel.dead_letters.send(
            key=result.outcome.event_id.encode(), value=result.dead_letter
        )
    if result.blocked or result.moved_to is not None:
        await follow_recipient(rt, channel.key, result)
    metrics.dispatched(
        channel.key,
        result.outcome.status,
        result.outcome.reason,
        dead_lettered=result.dead_letter is not None,
        message=record.value,
        published=published,
    )
    return result


def broadcast_to(rt: Runtime) -> Callable[[Event], list[Delivery]] | None:
    """Configured Telegram channels and staff groups, when Telegram is on."""
    if ChannelKey.TELEGRAM not in rt.channels:
        return None
    settings = rt.settings.telegram
    return lambda event: broadcasts(
        event,
        settings.public_channels,
        settings.staff_groups,
        languages=rt.renderer.languages,
    )


async def follow_recipient(rt: Runtime, key: ChannelKey, result: Dispatched) -> None:
    """A recipient who blocked us, or whose chat moved: update their record accordingly."""
    subscriber = rt.directory.get(result.outcome.recipient_id)
    if subscriber is None:
        log.warning(
            "%s for %s, not a subscriber (a configured destination?): update the configuration",
            result.outcome.reason,
            result.outcome.recipient_id,
            extra={
                "event_id": result.outcome.event_id,
                "delivery_id": result.outcome.delivery_id,
                "channel": str(key),
            },
        )
        return
    now = utc_now()
    if result.blocked:
        changed, cause = pause_channel(subscriber, key, now), Cause.CHANNEL_PAUSED
    else:
        changed, cause = move_chat(subscriber, str(result.moved_to), now), Cause.CHAT_MOVED
    await rt.subscriber_commands.send(
        key=subscriber.id.encode(), value=command(changed, cause, "hub", result.outcome.reason)
    )
