"""The Faust agents: thin loops that call plain Python and write what it decided.

Every agent keeps concurrency=1: with more, Faust can commit past a message still in flight and
lose it on restart (faust-streaming issue #606). Scale with partitions and workers instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from faust.types import StreamT
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from channels.telegram import TelegramChannel
from hub import audit
from hub.app import ChannelRuntime, Runtime, utc_now
from hub.dispatch import Dispatched
from hub.events import Event, topic_name
from hub.newsletter.archive import archive_record
from hub.newsletter.config import Newsletter
from hub.newsletter.editions import accepts, plan_edition
from hub.newsletter.state import apply as apply_record
from hub.newsletter.state import next_items
from hub.outcomes import Outcome, OutcomeStatus
from hub.planning import due_embargoes, plan_event
from hub.retry import seconds_until
from hub.routing import ChannelKey, Delivery, broadcasts
from hub.selfservice import Cause, command, move_chat, pause_channel
from hub.status import fold
from hub.subscriber_changes import subscriber_change
from hub.telegram_bot import Reply, handle_update

log = logging.getLogger(__name__)


def register_agents(rt: Runtime) -> None:
    """Attach the agents to the runtime's app."""
    app = rt.app

    async def record(outcome: Outcome) -> None:
        key = outcome.event_id.encode()
        await rt.outcomes.send(key=key, value=outcome.as_dict())
        if outcome.status is not OutcomeStatus.DUPLICATE:
            entry = audit.record(
                "hub",
                f"delivery.{outcome.status}" if outcome.delivery_id else f"event.{outcome.status}",
                outcome.delivery_id or outcome.event_id,
                utc_now(),
                event_id=outcome.event_id,
                recipient_id=outcome.recipient_id,
                channel=outcome.channel,
                reason=outcome.reason,
            )
            await rt.audit.send(key=key, value=entry)

    @app.agent(rt.event_topics, name="hub.plan", concurrency=1)
    async def plan(stream: StreamT[Any]) -> None:
        """Turn accepted events into deliveries, one per recipient and channel."""
        async for document in stream:
            try:
                result = plan_event(
                    document,
                    rt.directory,
                    rt.planned,
                    utc_now(),
                    default_language=rt.settings.default_language,
                    links=rt.links.for_subscriber,
                    broadcast=broadcast_to(rt),
                )
            except (KeyError, TypeError, ValueError) as exc:
                event_id = str(document.get("id", "")) if isinstance(document, dict) else ""
                reason = f"unplannable event: {exc!r}"
                log.error("%s: %s", event_id, reason)
                letter = {"reason": reason, "failed_at": utc_now().isoformat(), "event": document}
                await rt.event_dead_letters.send(key=event_id.encode(), value=letter)
                await record(Outcome.skipped(event_id, utc_now(), reason))
                continue
            if result.held_until is not None:
                # Kept in a table on this event's partition; the release timer fans it out.
                rt.embargoed[result.event.id] = {
                    "until": result.held_until.isoformat(),
                    "topic": topic_name(
                        rt.settings.kafka.topic_prefix,
                        result.event.type,
                        result.event.schema_version,
                    ),
                    "document": document,
                }
            if not result.repeated and result.held_until is None:
                for name in newsletters_for(rt, result.event):
                    item = {"kind": "item", "event": result.event.document}
                    await rt.newsletter_records.send(key=name.encode(), value=item)
            if result.skipped_reason:
                log.info("event %s: %s", result.event.id, result.skipped_reason)
                await record(Outcome.skipped(result.event.id, utc_now(), result.skipped_reason))
                continue
            for delivery in result.deliveries:
                await rt.channels[delivery.channel].deliveries.send(
                    key=delivery.recipient.id.encode(),
                    value=delivery.as_message(result.event.document),
                )
                await rt.outcomes.send(
                    key=delivery.event_id.encode(),
                    value=Outcome.of(delivery, OutcomeStatus.PLANNED, utc_now()).as_dict(),
                )
            rt.planned[result.event.id] = result.event.fingerprint
            rt.embargoed.pop(result.event.id, None)
            log.info("event %s: %d deliveries planned", result.event.id, len(result.deliveries))

    @app.timer(interval=rt.settings.embargo_check_seconds)  # type: ignore[untyped-decorator]
    async def release_embargoes() -> None:
        """Send held events back to the planner once their embargo has passed.

        Every worker checks the embargoes of its own partitions; sending one twice is harmless
        (the planner fans an event out once), so restarts and rebalances need no coordination.
        """
        try:
            due = due_embargoes(list(rt.embargoed.items()), rt.planned, utc_now())
            for event_id, entry in due:
                log.info("event %s: embargo over, releasing", event_id)
                await rt.app.producer.send_and_wait(
                    entry["topic"],
                    event_id.encode(),
                    json.dumps(entry["document"], ensure_ascii=False).encode(),
                    None,
                    None,
                    [("hub-released-from-embargo", b"1")],
                )
        except Exception:  # an exception escaping a timer would stop the whole worker
            log.exception("embargo release failed; will try again")

    for channel in rt.channels.values():
        register_channel_agents(rt, channel, record)
    if ChannelKey.TELEGRAM in rt.channels and rt.settings.telegram.poll_updates:
        register_telegram_bot(rt)
    register_newsletter_agents(rt)

    @app.agent(rt.outcomes, name="hub.status", concurrency=1)
    async def track_status(stream: StreamT[Any]) -> None:
        """Fold outcomes into per-event status an officer can read."""
        async for value in stream:
            try:
                outcome = Outcome.from_dict(value)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("unreadable outcome ignored: %r", exc)
                continue
            state = rt.delivery_states.get(outcome.delivery_id) if outcome.delivery_id else None
            status, new_state = fold(rt.event_status.get(outcome.event_id), state, outcome)
            rt.event_status[outcome.event_id] = status
            if new_state is not None:
                rt.delivery_states[outcome.delivery_id] = new_state

    @app.agent(rt.subscriber_commands, name="hub.subscribers", concurrency=1)
    async def apply_subscriber_changes(stream: StreamT[Any]) -> None:
        """Materialise subscriber records on every worker; send what a change calls for."""
        async for key, value in stream.items():
            subscriber_id = key.decode() if isinstance(key, bytes) else str(key)
            change = subscriber_change(subscriber_id, value, rt, utc_now())
            if change.erase:
                rt.subscriber_records.pop(subscriber_id, None)
            elif change.record is not None:
                rt.subscriber_records[subscriber_id] = change.record
            for message in change.emails:
                await rt.email.deliveries.send(key=subscriber_id.encode(), value=message)
            await rt.audit.send(key=subscriber_id.encode(), value=change.audit)

    @app.on_before_shutdown.connect  # consumer already stopped: nothing left to send
    async def close_channels(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        for channel in rt.channels.values():
            await channel.channel.close()


def register_channel_agents(
    rt: Runtime, channel: ChannelRuntime, record: Callable[[Outcome], Awaitable[None]]
) -> None:
    """The delivery and retry agents of one channel (email, telegram)."""
    app = rt.app

    @app.agent(channel.deliveries, name=f"hub.{channel.key}", concurrency=1)
    async def deliver(stream: StreamT[Any]) -> None:
        """Send each planned message once; schedule a retry or keep a dead letter on failure."""
        async for message in stream:
            result = await channel.dispatcher.dispatch(message)
            key = result.outcome.event_id.encode()
            if result.retry is not None:
                await channel.retries.send(
                    key=str(result.outcome.recipient_id).encode(), value=result.retry
                )
            if result.dead_letter is not None:
                await channel.dead_letters.send(key=key, value=result.dead_letter)
            if result.blocked or result.moved_to is not None:
                await follow_recipient(rt, channel.key, result)
            await record(result.outcome)

    @app.agent(channel.retries, name=f"hub.{channel.key}-retry", concurrency=1)
    async def retry(stream: StreamT[Any]) -> None:
        """Hand retries back to the channel once their backoff has passed."""
        async for message in stream:
            wait = seconds_until(message.get("not_before"), utc_now())
            if wait > 0:
                # Stopping cancels this sleep; the message is not acknowledged and comes back.
                await asyncio.sleep(wait)
            recipient = message.get("recipient", {}).get("id", "")
            await channel.deliveries.send(key=str(recipient).encode(), value=message)


def broadcast_to(rt: Runtime) -> Callable[[Event], list[Delivery]] | None:
    """Configured Telegram channels and staff groups, when Telegram is on."""
    if ChannelKey.TELEGRAM not in rt.channels:
        return None
    settings = rt.settings.telegram
    return lambda event: broadcasts(
        event,
        settings.public_channels,
        settings.staff_groups,
        default_language=rt.settings.default_language,
    )


async def follow_recipient(rt: Runtime, key: ChannelKey, result: Dispatched) -> None:
    """A recipient who blocked us, or whose chat moved: update their record accordingly."""
    subscriber = rt.directory.get(result.outcome.recipient_id)
    if subscriber is None:
        log.warning(
            "%s for %s, not a subscriber (a configured destination?): update the configuration",
            result.outcome.reason,
            result.outcome.recipient_id,
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


def register_telegram_bot(rt: Runtime) -> None:
    """Long-poll the bot's updates on the leader only: Telegram allows one getUpdates at a time."""
    sender = rt.channels[ChannelKey.TELEGRAM].channel
    assert isinstance(sender, TelegramChannel)
    offset: list[int] = []

    @rt.app.timer(interval=0.1, on_leader=True)  # type: ignore[untyped-decorator]
    async def poll_bot() -> None:
        try:
            bot = await sender.ready()
            updates = await bot.get_updates(
                offset=offset[-1] if offset else None,
                timeout=int(rt.settings.telegram.poll_interval_seconds),
                allowed_updates=["message", "callback_query"],
            )
            for update in updates:
                offset[:] = [update.update_id + 1]
                result = handle_update(update.to_dict(), rt.directory, rt.signer, utc_now())
                if result.change is not None:
                    subscriber, cause = result.change
                    value = command(subscriber, cause, f"telegram:{subscriber.telegram_chat_id}")
                    await rt.subscriber_commands.send(key=subscriber.id.encode(), value=value)
                for reply in result.replies:
                    await send_reply(sender, reply)
        except Exception:  # an exception escaping a timer would stop the whole worker
            log.exception("Telegram updates could not be read; trying again")
            await asyncio.sleep(5)


async def send_reply(sender: TelegramChannel, reply: Reply) -> None:
    """Answer in the chat: plain text (no parse mode, so names need no escaping)."""
    bot = sender.bot
    markup = None
    if reply.keyboard is not None:
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                for row in reply.keyboard
            ]
        )
    if reply.answer_callback_id:
        await bot.answer_callback_query(reply.answer_callback_id)
    await sender.pace(reply.chat_id)
    if reply.edit_message_id is not None:
        await bot.edit_message_text(
            reply.text, chat_id=reply.chat_id, message_id=reply.edit_message_id, reply_markup=markup
        )
    else:
        await bot.send_message(reply.chat_id, reply.text, reply_markup=markup)


def newsletters_for(rt: Runtime, event: Event) -> list[str]:
    return [name for name, newsletter in rt.newsletters.items() if accepts(newsletter, event)]


def register_newsletter_agents(rt: Runtime) -> None:
    """Items accumulate per newsletter; at each scheduled time one edition per period goes out."""
    app = rt.app

    @app.agent(rt.newsletter_records, name="hub.newsletter", concurrency=1)
    async def compile_newsletters(stream: StreamT[Any]) -> None:
        async for key, record in stream.items():
            name = key.decode() if isinstance(key, bytes) else str(key)
            newsletter = rt.newsletters.get(name)
            if newsletter is None or not isinstance(record, dict):
                log.error("newsletter record for %r ignored: unknown newsletter or bad data", name)
                continue
            state = apply_record(rt.newsletter_state.get(name), record)
            rt.newsletter_state[name] = state
            if record.get("kind") == "compile":
                await send_edition(rt, newsletter, state, record)

    for newsletter in rt.newsletters.values():
        schedule_newsletter(rt, newsletter)


def schedule_newsletter(rt: Runtime, newsletter: Newsletter) -> None:
    # on_leader: one trigger per schedule; a doubled trigger around a rebalance is harmless,
    # since the edition id comes from the newsletter and the period.
    @rt.app.crontab(newsletter.schedule, timezone=ZoneInfo(newsletter.timezone), on_leader=True)
    async def trigger() -> None:
        try:
            request = {"kind": "compile", "at": utc_now().isoformat(), "by": "schedule"}
            await rt.newsletter_records.send(key=newsletter.name.encode(), value=request)
        except Exception:  # an exception escaping a crontab would stop the whole worker
            log.exception("newsletter %s: could not request the edition", newsletter.name)


async def send_edition(
    rt: Runtime, newsletter: Newsletter, state: dict[str, Any], request: dict[str, Any]
) -> None:
    """Compile and send the edition of the request's period, unless it already went out."""
    at = datetime.fromisoformat(str(request["at"]))
    edition_id = newsletter.edition_id(at)
    if edition_id in state["editions"] or rt.editions.get(edition_id) is not None:
        log.info("newsletter edition %s already sent", edition_id)
        return
    items = next_items(state, newsletter)
    if not items and not newsletter.send_empty:
        log.info("newsletter edition %s: nothing to send", edition_id)
        return
    plan = plan_edition(
        newsletter,
        edition_id,
        newsletter.period_start(at),
        items,
        state["curation"]["intro"],
        rt.directory,
        rt.renderer,
        rt.links.for_subscriber,
        rt.settings.default_language,
    )
    for message in plan.deliveries:
        await rt.email.deliveries.send(key=message["recipient"]["id"].encode(), value=message)
    rt.editions[edition_id] = archive_record(newsletter, edition_id, at, plan, utc_now())
    sent = {"kind": "edition-sent", "edition": edition_id, "event_ids": plan.event_ids}
    await rt.newsletter_records.send(key=newsletter.name.encode(), value=sent)
    entry = audit.record(
        str(request.get("by", "schedule")),
        "newsletter.sent",
        edition_id,
        utc_now(),
        recipients=len(plan.deliveries),
        items=len(plan.event_ids),
    )
    await rt.audit.send(key=edition_id.encode(), value=entry)
