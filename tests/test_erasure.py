"""Erasure erases: after it, no topic of the run holds anything readable about the person.

Real broker, real SMTP server, the Bot API sandbox; the topics are read from outside the worker
with a plain Kafka consumer, byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from hub.kafka.admin import ensure_topics
from hub.privacy.erasure import compaction_config
from hub.privacy.erasure_topics import align_topic_configs
from hub.settings import KafkaSettings
from tests.helpers import DEMO_ANNOUNCEMENT, load_example, wait_until
from tests.hubprocess import TOKEN, HubProcess
from tests.kafka_probe import raw_records, topics_starting_with, where_readable
from tests.sandboxprocess import MakeStack

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]

FAST = {
    "HUB_RETRY__BASE_SECONDS": "0.5",
    "HUB_RETRY__MAX_DELAY_SECONDS": "2",
    "HUB_RETRY__MAX_ATTEMPTS": "20",
    # Erasure completes within about two windows plus the broker's cleaner back-off.
    "HUB_ERASURE__WINDOW_SECONDS": "2",
}


def person(subscriber_id: str, name: str, email: str, chat: int | None) -> dict[str, Any]:
    channels = ["email", "telegram"] if chat is not None else ["email"]
    return {
        "id": subscriber_id,
        "kind": "partner",
        "name": name,
        "language": "en",
        "email": email,
        "telegram_chat_id": chat,
        "organisation": "Erasure Test Foundation",
        "subscriptions": [{"channels": channels}],
    }


def run_topics(hub: HubProcess) -> list[str]:
    """Every topic of this run: the hub's (prefix) and Faust's (changelogs, by app id)."""
    return topics_starting_with(f"{hub.prefix}.", f"{hub.env['HUB_APP_ID']}-")


def test_after_erasure_no_topic_holds_the_persons_email_name_or_chat(
    telegram_stack: MakeStack,
) -> None:
    run = uuid.uuid4().hex[:8]
    chat = 6_000_000_000 + int(run, 16) % 1_000_000_000
    email, name = f"bounce-{run}@erasure.example.net", f"Zenobia Quillfeather {run}"
    gone = person(f"erase-{run}", name, email, chat)
    kept = person(f"keep-{run}", f"Kept Person {run}", f"keeper-{run}@erasure.example.net", None)
    # Addresses starting with "bounce" are refused with 550: a dead letter for them.
    hub, sandbox, catcher = telegram_stack([gone, kept], refuse="^bounce", **FAST)
    # One 429 on the first Telegram send: a copy of the person's delivery on the retry topic.
    sandbox.control(
        "POST", "faults", kind="too_many_requests", method="sendMessage", count=1, retry_after=1
    )

    news = load_example(DEMO_ANNOUNCEMENT)
    assert hub.publish(news).status_code == 202
    wait_until(
        lambda: sandbox.stats()["per_chat"].get(str(chat)) == 1,
        what="the Telegram message, after a 429",
    )
    wait_until(lambda: len(list(catcher.outbox.glob("*.eml"))) == 1, what="the kept one's email")
    status = wait_until(
        lambda: (s := hub.get(f"/api/v1/events/{news['id']}/status").json()).get("failures") and s,
        what="the refused email recorded as failed",
    )
    (failure,) = status["failures"]
    assert failure["recipient_id"] == gone["id"]
    assert "550" in failure["reason"]
    assert email not in failure["reason"], "a failure reason quotes the address"

    topics = run_topics(hub)
    people_topics = {t for t in topics if "subscribers" in t}
    wait_until(lambda: raw_records(f"{hub.prefix}.deadletters.email.v1"), what="a dead letter")
    wait_until(lambda: raw_records(f"{hub.prefix}.retries.telegram.v1"), what="a Telegram retry")

    # Before erasure: readable only in the person's record (and its table's changelog).
    before = where_readable(topics, [email, name, str(chat)])
    assert set(before) == {email, name, str(chat)}, f"the probe cannot see the record: {before}"
    for needle, found in before.items():
        assert set(found) <= people_topics, f"{needle!r} readable outside the record: {found}"

    # The export has everything held: the record, each delivery, the dead letter, the audit trail.
    exported = hub.get(f"/api/v1/subscribers/{gone['id']}/export")
    assert exported.status_code == 200
    data = exported.json()
    assert data["subscriber"]["email"] == email
    assert data["subscriber"]["telegram_chat_id"] == chat
    assert "data_key" not in data["subscriber"]
    by_channel = {d["channel"]: d for d in data["deliveries"]}
    assert by_channel["telegram"]["status"] == "sent"
    assert [s["status"] for s in by_channel["telegram"]["history"]][:2] == ["planned", "retrying"]
    assert by_channel["email"]["status"] == "failed"
    (letter,) = data["dead_letters"]
    assert letter["address"] == email
    assert letter["channel"] == "email"
    assert "550" in letter["reason"]
    actions = {entry["action"] for entry in data["audit"]}
    assert {"delivery.sent", "delivery.failed", "delivery.retrying"} <= actions
    assert kept["id"] not in json.dumps(data), "someone else's data in the export"

    erased = httpx.delete(
        f"{hub.base_url}/api/v1/subscribers/{gone['id']}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert erased.status_code == 202
    wait_until(
        lambda: hub.get(f"/api/v1/subscribers/{gone['id']}/export").status_code == 404,
        what="the worker dropping the record",
    )

    def nothing_readable() -> bool:
        return not where_readable(run_topics(hub), [email, name, str(chat)])

    wait_until(nothing_readable, timeout=150, interval=1, what="the person's data to be gone")
    # The probe still reads what was not erased: the check above could have failed.
    still = where_readable(run_topics(hub), [kept["email"], kept["name"]])
    assert set(still) == {kept["email"], kept["name"]}
    # The audit trail keeps the erasure, by id.
    trail = hub.get("/api/v1/audit", subject=gone["id"]).json()
    assert {"subscriber.erasure-requested", "subscriber.erased"} <= {e["action"] for e in trail}


async def _topic_config(topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers="127.0.0.1:9092")
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
    finally:
        await admin.close()
    ((_code, _message, _kind, _name, entries),) = response.resources
    return {entry[0]: entry[1] for entry in entries}


def test_a_people_topic_made_before_the_window_gets_it_at_start(kafka_broker: str) -> None:
    settings = KafkaSettings()
    topic = f"t{uuid.uuid4().hex[:10]}.subscribers.v1"
    asyncio.run(ensure_topics(settings, [topic], {"cleanup.policy": "compact"}, partitions=1))
    before = wait_until(lambda: asyncio.run(_topic_config(topic)).get("segment.ms"), what="topic")
    assert before != "5000"
    asyncio.run(align_topic_configs(settings, [topic, "no-such-topic"], compaction_config(5)))
    config = asyncio.run(_topic_config(topic))
    assert config["segment.ms"] == config["max.compaction.lag.ms"] == "5000"
    assert config["cleanup.policy"] == "compact"
