"""The Telegram sandbox's injected faults, blocked users and migrated groups."""

from __future__ import annotations

import datetime as dtm

import httpx
import pytest
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from tests.sandbox_fixtures import (
    GROUP_ID,
    Server,
    add_fault,
    eventually,
    sent_texts,
)

# --- Injected faults ------------------------------------------------------------------------------


async def test_blocked_and_deactivated_users_are_forbidden(
    bot: Bot, control: httpx.AsyncClient
) -> None:
    await add_fault(control, kind="bot_blocked", chat_id=42)
    await add_fault(control, kind="user_deactivated", chat_id=43)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(42, "hello")
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_message(43, "hello")
    await bot.send_message(44, "an unaffected chat")
    assert (await control.get("/sandbox/faults")).json() == {"faults": []}


async def test_migrated_group_names_the_supergroup(bot: Bot, control: httpx.AsyncClient) -> None:
    await add_fault(control, kind="chat_migrated", chat_id=GROUP_ID)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(GROUP_ID, "hello")
    assert caught.value.new_chat_id == -1004242
    moved = await bot.send_message(caught.value.new_chat_id, "hello again")
    assert moved.chat.type == "supergroup"


async def test_faults_by_method_with_a_count(bot: Bot, control: httpx.AsyncClient) -> None:
    await add_fault(control, kind="too_many_requests", method="sendMessage", retry_after=7)
    await add_fault(control, kind="internal_error", method="sendMessage", count=2)
    await add_fault(control, kind="bad_gateway", method="sendMessage")
    await add_fault(control, kind="chat_not_found", method="sendMessage")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "x")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(1, "x")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(1, "x")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(1, "x")
    await bot.send_message(1, "x")
    stats = (await control.get("/sandbox/stats")).json()
    assert stats["answered_429"] == 1 and stats["rate_limit_violations"] == 0
    assert stats["faults_triggered"] == 5 and stats["messages_sent"] == 1


async def test_timeout_then_processed_arrives_once(bot: Bot, control: httpx.AsyncClient) -> None:
    await add_fault(control, kind="timeout", chat_id=42, delay=1.0, process=True)
    with pytest.raises(TimedOut):
        await bot.send_message(42, "slow", read_timeout=0.2)

    async def delivered() -> bool:
        return await sent_texts(control, 42) == ["slow"]

    await eventually(delivered)


async def test_timeout_then_dropped_never_arrives(
    server: Server, bot: Bot, control: httpx.AsyncClient
) -> None:
    await add_fault(control, kind="timeout", chat_id=42, delay=0.5, process=False)
    with pytest.raises(TimedOut):
        await bot.send_message(42, "lost", read_timeout=0.1)
    await eventually(lambda: server.sandbox.requests[-1].get("status") == 504)
    assert server.sandbox.stats.messages_sent == 0


async def test_unknown_fault_kind_is_refused(control: httpx.AsyncClient) -> None:
    response = await control.post("/sandbox/faults", json={"kind": "meteor"})
    assert response.status_code == 400 and "kind must be one of" in response.json()["error"]
