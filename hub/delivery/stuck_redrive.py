"""Re-planning stuck deliveries (worker and CLI): find each one's message, send it again."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from hub.delivery.retry import tier_label
from hub.delivery.stuck import latest_messages, redrive_audit, to_resend
from hub.kafka.client import read_topic, send_records
from hub.kafka.topics import TopicNames
from hub.model.deliveries import ChannelKey, messages_in
from hub.settings import Settings


async def redrive_deliveries(
    settings: Settings, states: Iterable[Mapping[str, Any]], actor: str
) -> tuple[int, list[str]]:
    """Send stuck deliveries back to their channel; the ledger keeps a sent one from repeating.

    Returns how many were sent again and the ids whose message is no longer in Kafka.
    """
    names = TopicNames(settings.kafka.topic_prefix)
    by_channel: dict[str, list[Mapping[str, Any]]] = {}
    for state in states:
        by_channel.setdefault(str(state["channel"]), []).append(state)
    count, missing = 0, []
    for channel, wanted in by_channel.items():
        ids = {str(s["delivery_id"]) for s in wanted}
        # A delivery is under its recipient's id, or in a batch under its event's id.
        keys = {str(s[field]).encode() for s in wanted for field in ("recipient_id", "event_id")}
        values: list[Any] = []
        key = ChannelKey(channel)
        tiers = names.retry_tiers(key, [tier_label(t) for t in settings.retry.tiers])
        for topic in (names.deliveries(key), names.retries(key), *tiers):
            records = await read_topic(settings.kafka, topic, keep=keys.__contains__)
            values += [message for _key, value in records for message in messages_in(value)]
        found = latest_messages(values, ids)
        resend = [to_resend(found[s["delivery_id"]]) for s in wanted if s["delivery_id"] in found]
        missing += sorted(ids - set(found))
        if resend:
            now = datetime.now(UTC)
            await send_records(settings.kafka, names.deliveries(key), resend)
            entries = [
                (str(s["event_id"]).encode(), redrive_audit(s, actor, now))
                for s in wanted
                if s["delivery_id"] in found
            ]
            await send_records(settings.kafka, names.audit, entries)
            count += len(resend)
    return count, missing


async def redrive_stuck(rt: Any, states: list[dict[str, Any]], actor: str) -> int:
    """From the worker: re-plan these stuck deliveries; returns how many were sent again."""
    if not states:
        return 0
    count, _missing = await redrive_deliveries(rt.settings, states, actor)
    return count
