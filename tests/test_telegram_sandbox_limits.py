"""The Telegram sandbox's rate limits, through the real client and with a fake clock."""

from __future__ import annotations

import datetime as dtm

import httpx
import pytest
from telegram import Bot
from telegram.error import (
    RetryAfter,
)

from channels.telegram.limits import Flood, RateLimiter, Window
from tests.sandbox_fixtures import (
    GROUP_ID,
    FakeClock,
    Server,
    sent_texts,
)

# --- Rate limits ----------------------------------------------------------------------------------


async def test_private_chat_allows_one_message_a_second(
    server: Server, bot: Bot, control: httpx.AsyncClient
) -> None:
    await bot.send_message(42, "first")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(42, "second, too soon")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    server.clock.advance(1.0)
    await bot.send_message(42, "second, on time")

    assert await sent_texts(control, 42) == ["first", "second, on time"]
    stats = (await control.get("/sandbox/stats")).json()
    assert stats["answered_429"] == 1 and stats["rate_limit_violations"] == 1
    assert stats["violations_per_limit"] == {"private_chat": 1}


async def test_group_allows_twenty_messages_a_minute(
    server: Server, bot: Bot, control: httpx.AsyncClient
) -> None:
    for number in range(20):
        await bot.send_message(GROUP_ID, f"message {number}")
        server.clock.advance(0.5)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(GROUP_ID, "the twenty-first")
    # The first message leaves the one-minute window 60 s after it was sent: 50 s from now.
    assert caught.value.retry_after == dtm.timedelta(seconds=50)
    server.clock.advance(50)
    await bot.send_message(GROUP_ID, "the twenty-first, later")
    assert len(await sent_texts(control, GROUP_ID)) == 21


async def test_about_thirty_messages_a_second_overall(
    server: Server, bot: Bot, control: httpx.AsyncClient
) -> None:
    for chat_id in range(1, 31):
        await bot.send_message(chat_id, "bulk")
    with pytest.raises(RetryAfter):
        await bot.send_message(31, "one too many this second")
    stats = (await control.get("/sandbox/stats")).json()
    assert stats["violations_per_limit"] == {"overall": 1}


async def test_limits_can_be_counted_without_being_enforced(
    server: Server, bot: Bot, control: httpx.AsyncClient
) -> None:
    server.sandbox.enforce_limits = False
    await bot.send_message(42, "one")
    await bot.send_message(42, "two")
    stats = (await control.get("/sandbox/stats")).json()
    assert stats["messages_sent"] == 2
    assert stats["rate_limit_violations"] == 1 and stats["answered_429"] == 0


def test_limiter_private_chat_window_with_fake_clock() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    assert limiter.acquire(1, group=False) is None
    assert limiter.acquire(1, group=False) == Flood("private_chat", 1)
    assert limiter.acquire(2, group=False) is None  # another chat has its own window
    clock.advance(0.96)  # within the tolerance of a full second
    assert limiter.acquire(1, group=False) is None
    clock.advance(0.5)
    assert limiter.check(1, group=False) == Flood("private_chat", 1)


def test_limiter_group_window_and_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    for _ in range(20):
        assert limiter.acquire(-5, group=True) is None
        clock.advance(1)
    assert limiter.acquire(-5, group=True) == Flood("group_chat", 40)
    clock.advance(39.5)
    assert limiter.check(-5, group=True) == Flood("group_chat", 1)  # never less than 1 s
    clock.advance(0.5)
    assert limiter.acquire(-5, group=True) is None


def test_limiter_refusals_do_not_use_up_the_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, overall=Window("overall", 3, 1.0))
    for chat_id in (1, 2, 3):
        assert limiter.acquire(chat_id, group=False) is None
    for _ in range(5):
        assert limiter.acquire(4, group=False) == Flood("overall", 1)
    clock.advance(1)
    assert limiter.acquire(4, group=False) is None


def test_limiter_recorded_sends_past_the_limit_still_count() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, tolerance=0)
    for _ in range(3):
        limiter.record(9, group=False)
    clock.advance(1)
    assert limiter.check(9, group=False) is None
