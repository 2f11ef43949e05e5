"""The bot's send budget, shared by the workers in proportion to their Telegram partitions."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from channels.telegram.channel import TelegramChannel
from hub.model.deliveries import ChannelKey
from hub.runtime.app import Runtime

log = logging.getLogger(__name__)


def register_telegram_budget(rt: Runtime) -> None:
    """At each assignment, pace this worker at its part of HUB_TELEGRAM__MESSAGES_PER_SECOND:
    the bot's rate times the share of the Telegram deliveries topic's partitions it was given,
    so that all the workers together stay within the one budget Telegram gives the bot."""
    channel = rt.channels[ChannelKey.TELEGRAM]
    sender = channel.channel
    if not isinstance(sender, TelegramChannel):
        return
    topic = channel.deliveries.get_topic_name()

    async def on_assigned(_sender: Any, /, *args: Any, **_kwargs: Any) -> None:
        assigned: Iterable[Any] = args[0] if args else rt.app.consumer.assignment()
        mine = sum(1 for tp in assigned if tp.topic == topic)
        total = rt.app.consumer.topic_partitions(topic) or rt.settings.kafka.partitions
        sender.share_budget(mine, total)
        budget = sender.limiter.overall
        log.info(
            "Telegram: %d of %d partitions here: at most %d messages in %.3f s",
            mine,
            total,
            budget.limit,
            budget.period,
        )

    rt.app.on_partitions_assigned.connect(on_assigned)
