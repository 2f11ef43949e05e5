"""A person's data export: everything the hub holds about them, gathered from every place.

The record (profile, subscriptions, consents, linked Telegram chat), every delivery to them with
its history (from the outcomes topic), the dead letters addressed to them (opened with their key)
and the audit entries about them. Their data key, a confirmation nonce and other people's data are
never part of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from hub.errors import BadRecord
from hub.kafka.client import read_topic
from hub.kafka.topics import TopicNames
from hub.model import audit
from hub.model.outcomes import Outcome, parse_outcomes
from hub.model.subscribers import Subscriber
from hub.privacy.sealing import Keys, open_value
from hub.settings import KafkaSettings
from hub.subscribers.selfservice import export

EXPORT_VERSION = 1


def deliveries_of(outcomes: Iterable[Any], subscriber_id: str) -> list[dict[str, Any]]:
    """Each delivery to the person with its history (planned, retrying, sent, failed), in order."""
    found: dict[str, dict[str, Any]] = {}
    for outcome in (o for value in outcomes for o in _outcomes(value)):
        if outcome.recipient_id != subscriber_id:
            continue
        entry = found.setdefault(
            outcome.delivery_id,
            {
                "delivery_id": outcome.delivery_id,
                "event_id": outcome.event_id,
                "channel": outcome.channel,
                "language": outcome.language,
                "history": [],
            },
        )
        step = {"status": outcome.status.value, "at": outcome.at}
        if outcome.reason:
            step["reason"] = outcome.reason
        if step not in entry["history"]:  # an outcome read twice after a restart
            entry["history"].append(step)
    for entry in found.values():
        entry["history"].sort(key=lambda step: str(step["at"]))
        entry["status"] = entry["history"][-1]["status"] if entry["history"] else ""
    return sorted(found.values(), key=lambda e: str(e["history"][0]["at"]) if e["history"] else "")


def _outcomes(value: object) -> list[Outcome]:
    """A record of the outcomes topic, single or batch; one that does not read holds nothing of
    theirs (the status agent logged it when it met it)."""
    try:
        return parse_outcomes(value)
    except BadRecord:
        return []


def dead_letters_of(letters: Iterable[Any], subscriber_id: str, keys: Keys) -> list[dict[str, Any]]:
    """Messages to the person that could not be delivered, as the hub keeps them."""
    kept: list[dict[str, Any]] = []
    for raw in letters:
        letter = open_value(raw, keys)
        delivery = letter.get("delivery") if isinstance(letter, dict) else None
        recipient = delivery.get("recipient") if isinstance(delivery, dict) else None
        if not isinstance(recipient, dict) or recipient.get("id") != subscriber_id:
            continue
        assert isinstance(delivery, dict) and isinstance(letter, dict)
        kept.append(
            {
                "delivery_id": delivery.get("id", ""),
                "event_id": delivery.get("event_id", ""),
                "channel": delivery.get("channel", ""),
                "address": recipient.get("address"),
                "reason": letter.get("reason", ""),
                "failed_at": letter.get("failed_at", ""),
            }
        )
    return kept


async def everything_about(
    subscriber: Subscriber,
    kafka: KafkaSettings,
    names: TopicNames,
    channels: Iterable[str],
    keys: Keys,
) -> dict[str, Any]:
    """The export: the record and every place that mentions the person, read from Kafka now."""
    channel_list = sorted(channels)
    outcomes, trail, *letters = await asyncio.gather(
        read_topic(kafka, names.outcomes),
        read_topic(kafka, names.audit),
        *(read_topic(kafka, names.dead_letters(channel)) for channel in channel_list),
    )
    return {
        "export_version": EXPORT_VERSION,
        "subscriber": export(subscriber),
        "deliveries": deliveries_of((value for _key, value in outcomes), subscriber.id),
        "dead_letters": [
            item
            for records in letters
            for item in dead_letters_of((value for _key, value in records), subscriber.id, keys)
        ],
        "audit": [
            entry
            for _key, value in trail
            for entry in audit.expand(value)
            if audit.concerns(entry, subscriber.id)
        ],
    }
