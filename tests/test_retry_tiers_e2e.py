"""Retries in delay tiers, end to end: a long backoff does not hold up a short one behind it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import DEMO_ANNOUNCEMENT, load_example, wait_until
from tests.sandboxprocess import MakeStack, SandboxProcess

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

SLOW_CHAT, FAST_CHAT = 910001, 910002
LONG_WAIT, SHORT_WAIT = 16, 1  # the retry_after Telegram asks of each chat
# Short tiers for the test (by default 5 s, 30 s, 5 min, 30 min): the long retry goes through
# the 8 s tier twice, the short one through the 1 s tier.
TIERS = [1, 8]


def reader(i: int, chat: int) -> dict[str, Any]:
    return {
        "id": f"r{i:04d}",
        "kind": "public",
        "name": f"Reader {i}",
        "language": "en",
        "telegram_chat_id": chat,
        "subscriptions": [{"channels": ["telegram"]}],
    }


def sends_to(sandbox: SandboxProcess, chat: int) -> list[dict[str, Any]]:
    """sendMessage requests to one chat, in order, with when (wall clock) and the answer."""
    entries = sandbox.control("GET", "requests?method=sendMessage")["requests"]
    return [e for e in entries if e["params"].get("chat_id") in (chat, str(chat))]


def test_a_long_backoff_does_not_delay_a_short_one_behind_it(telegram_stack: MakeStack) -> None:
    hub, sandbox, _catcher = telegram_stack(
        [reader(1, SLOW_CHAT), reader(2, FAST_CHAT)],
        # One partition: both retries are on the same partition of the retry topic, the slow
        # one first, where a retry agent sleeping until each is due would hold up the other.
        HUB_KAFKA__PARTITIONS="1",
        HUB_RETRY__TIERS=json.dumps(TIERS),
        HUB_RETRY__BASE_SECONDS="0.1",
        HUB_RETRY__JITTER="0",
    )
    for chat, wait in ((SLOW_CHAT, LONG_WAIT), (FAST_CHAT, SHORT_WAIT)):
        sandbox.control(
            "POST", "faults", kind="too_many_requests", chat_id=chat, count=1, retry_after=wait
        )
    assert hub.publish(load_example(DEMO_ANNOUNCEMENT)).status_code == 202

    slow = wait_until(
        lambda: (s := sends_to(sandbox, SLOW_CHAT)) and s[-1]["status"] == 200 and s,
        timeout=120,
        what="the slow chat's message, after its long backoff",
    )
    fast = sends_to(sandbox, FAST_CHAT)
    assert [e["status"] for e in slow] == [429, 200]
    assert [e["status"] for e in fast] == [429, 200]
    assert slow[0]["at"] < fast[0]["at"], "the slow chat's retry was not the first one queued"
    # The fast chat went out about a second after its 429, long before the slow one was due.
    assert fast[1]["at"] - fast[0]["at"] < LONG_WAIT / 2
    assert fast[1]["at"] < slow[1]["at"]
    # The slow chat was not sent before Telegram allowed it.
    assert slow[1]["at"] - slow[0]["at"] >= LONG_WAIT - 0.1
