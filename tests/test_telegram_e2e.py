"""Telegram end to end: real broker, real python-telegram-bot, the Bot API sandbox over HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.conftest import read_outbox
from tests.helpers import DEMO_ANNOUNCEMENT, EXAMPLES, load_example, wait_until
from tests.sandboxprocess import MakeStack, SandboxProcess

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

RETRY_FAST = {
    "HUB_RETRY__BASE_SECONDS": "0.5",
    "HUB_RETRY__MAX_DELAY_SECONDS": "3",
    "HUB_RETRY__MAX_ATTEMPTS": "30",
}


def both_channels(i: int, chat: int, language: str = "fr") -> dict[str, Any]:
    return {
        "id": f"p{i:04d}",
        "kind": "partner",
        "name": f"Partner {i}",
        "language": language,
        "email": f"p{i:04d}@partner.example.net",
        "telegram_chat_id": chat,
        "subscriptions": [{"channels": ["email", "telegram"]}],
    }


def bot_texts(sandbox: SandboxProcess, chat: int) -> list[str]:
    return [m["message"].get("text", "") for m in sandbox.messages(chat)]


def test_chat_linked_from_the_preference_centre_gets_news_in_its_language(
    telegram_stack: MakeStack,
) -> None:
    hub, sandbox, catcher = telegram_stack(
        [
            {
                "id": "ext-camille",
                "kind": "partner",
                "name": "Camille",
                "language": "fr",
                "email": "camille@ong.example.org",
            }
        ]
    )
    first = load_example(DEMO_ANNOUNCEMENT)
    assert hub.publish(first).status_code == 202
    (email,) = wait_until(lambda: read_outbox(catcher.outbox), what="the first email")
    preferences = re.search(
        r"https?://\S+/preferences\?t=\S+", email.get_body(("plain",)).get_content()
    )
    assert preferences
    page = httpx.get(preferences.group(0), timeout=30).text
    deep_link = re.search(r'id="telegram-link" href="https://t\.me/[\w]+\?start=([\w-]+)"', page)
    assert deep_link, "the preference centre offers no Telegram link"

    chat = 5001
    sandbox.control(
        "POST", "chats", id=chat, type="private", first_name="Camille", language_code="fr"
    )
    sandbox.control("POST", "updates", chat_id=chat, text=f"/start {deep_link.group(1)}")
    wait_until(lambda: any("Bienvenue" in t for t in bot_texts(sandbox, chat)), what="welcome")
    wait_until(
        lambda: (
            hub.get("/api/v1/subscribers", q="ext-camille").json()["items"][0]["telegram_chat_id"]
            == chat
        ),
        what="the chat linked to the subscriber",
    )

    sandbox.control("POST", "updates", chat_id=chat, text="/topics")
    keyboard = wait_until(
        lambda: [m for m in sandbox.messages(chat) if m["message"].get("reply_markup")],
        what="the topics keyboard",
    )[-1]["message"]
    sandbox.control(
        "POST",
        "updates",
        chat_id=chat,
        callback_data="topic:research.released",
        message_id=keyboard["message_id"],
    )
    wait_until(
        lambda: (
            all(
                "research.released" not in s["event_types"]
                for s in hub.get("/api/v1/subscribers", q="ext-camille").json()["items"][0][
                    "subscriptions"
                ]
                if "telegram" in s["channels"]
            )
            and any(
                "telegram" in s["channels"]
                for s in hub.get("/api/v1/subscribers", q="ext-camille").json()["items"][0][
                    "subscriptions"
                ]
            )
        ),
        what="research unfollowed on Telegram",
    )

    news = load_example(DEMO_ANNOUNCEMENT)
    research = load_example(
        EXAMPLES / "research.released.v1" / "valid" / "digital-remittances-west-africa.json",
        classification="public",
    )
    assert hub.publish(research).status_code == 202
    assert hub.publish(news).status_code == 202
    wait_until(
        lambda: any(t.startswith(news["content"]["fr"]["title"]) for t in bot_texts(sandbox, chat)),
        what="the announcement in French on Telegram",
    )
    wait_until(
        lambda: [m for m in read_outbox(catcher.outbox) if m["X-Hub-Event-Id"] == research["id"]],
        what="the research by email",
    )
    wait_until(
        lambda: hub.get(f"/api/v1/events/{research['id']}/status").status_code == 200,
        what="the research status",
    )
    assert not any(research["content"]["fr"]["title"] in t for t in bot_texts(sandbox, chat))


def test_broadcasts_to_many_chats_stay_within_telegram_limits_by_the_sandboxs_count(
    telegram_stack: MakeStack,
) -> None:
    chats, events = 150, 3
    people = [
        {
            "id": f"t{i:04d}",
            "kind": "public",
            "name": f"Reader {i}",
            "language": "en",
            "telegram_chat_id": 100000 + i,
            "subscriptions": [{"channels": ["telegram"]}],
        }
        for i in range(chats)
    ]
    groups = [str(-7001 - i) for i in range(3)]
    hub, sandbox, _catcher = telegram_stack(
        people, HUB_TELEGRAM__PUBLIC_CHANNELS=json.dumps(groups)
    )
    for _ in range(events):
        assert hub.publish(load_example(DEMO_ANNOUNCEMENT)).status_code == 202
    expected = (chats + len(groups)) * events
    wait_until(
        lambda: sandbox.stats()["messages_sent"] >= expected,
        timeout=180,
        what=f"{expected} messages in the sandbox",
    )
    # Judged by the sandbox's own record of each send (time, chat), not the hub's limiter.
    account = sandbox.control("GET", "sends")
    summary = account["summary"]
    assert summary["violations"] == 0, account["violations"][:10]
    assert sandbox.stats()["answered_429"] == 0
    per_chat: dict[int, int] = {}
    for send in account["sends"]:
        per_chat[send["chat_id"]] = per_chat.get(send["chat_id"], 0) + 1
    assert all(per_chat.get(100000 + i) == events for i in range(chats))
    assert all(per_chat.get(int(group)) == events for group in groups)
    # The rate against the shortest time Telegram's limits allowed these very sends. Pacing
    # alone would give about 0.8 (25 a second where Telegram allows 30); while the delivery
    # agent sends one message at a time the worker's own speed bounds it (0.26, and 0.12 under
    # heavy load, measured on a shared 2-core machine), so this bound only catches pacing that
    # makes every message wait a chat's interval (1.1 s each: 0.03). The S6 benchmark measures
    # the ratio; raise this bound once sends are concurrent.
    assert summary["rate_of_allowed"] > 0.06, summary


def test_a_429_storm_slows_telegram_while_email_completes(telegram_stack: MakeStack) -> None:
    people = [both_channels(i, 200000 + i) for i in range(40)]
    hub, sandbox, catcher = telegram_stack(people, **RETRY_FAST)
    sandbox.control(
        "POST", "faults", kind="too_many_requests", method="sendMessage", count=60, retry_after=2
    )
    news = load_example(DEMO_ANNOUNCEMENT)
    assert hub.publish(news).status_code == 202
    wait_until(lambda: len(list(catcher.outbox.glob("*.eml"))) == 40, what="all 40 emails")
    telegram_when_email_done = sandbox.stats()["messages_sent"]
    assert telegram_when_email_done < 40, "Telegram was not slowed down at all"
    wait_until(
        lambda: sandbox.stats()["messages_sent"] >= 40,
        timeout=180,
        what="all 40 Telegram messages after the storm",
    )
    per_chat = sandbox.stats()["per_chat"]
    assert all(per_chat.get(str(200000 + i)) == 1 for i in range(40))
    status = hub.get(f"/api/v1/events/{news['id']}/status").json()
    assert status["channels"]["telegram"]["fr"]["retries"] > 0


def test_blocked_user_pauses_telegram_for_that_subscriber(telegram_stack: MakeStack) -> None:
    hub, sandbox, catcher = telegram_stack([both_channels(1, 300001), both_channels(2, 300002)])
    sandbox.control("POST", "faults", kind="bot_blocked", chat_id=300001)
    news = load_example(DEMO_ANNOUNCEMENT)
    assert hub.publish(news).status_code == 202
    wait_until(lambda: sandbox.stats()["per_chat"].get("300002") == 1, what="the other chat")
    wait_until(
        lambda: (
            hub.get("/api/v1/subscribers", q="p0001").json()["items"][0]["telegram_chat_id"] is None
        ),
        what="Telegram paused for the blocked subscriber",
    )
    audit = hub.get("/api/v1/audit", subject="p0001").json()
    assert any(
        e["action"] == "subscriber.channel-paused" and "blocked" in e["detail"]["reason"]
        for e in audit
    )
    wait_until(lambda: len(list(catcher.outbox.glob("*.eml"))) == 2, what="both emails")
