"""The hub's Telegram pacing: slots taken at once, per chat, and one bot budget across workers."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.telegram.channel import TelegramChannel
from channels.telegram.limits import RateLimiter, Window, worker_budget
from devstack.telegram_sandbox.accounting import Send, SendAccount
from tests.sandbox_fixtures import FakeClock

HUB_LIMITS = {
    "overall": Window("overall", 25, 1.0),
    "private_chat": Window("private_chat", 1, 1.1),
    "group_chat": Window("group_chat", 19, 60.0),
}


def limiter(clock: FakeClock) -> RateLimiter:
    return RateLimiter(clock=clock, tolerance=0.0, **HUB_LIMITS)


def test_a_chat_that_must_wait_does_not_hold_up_another() -> None:
    clock = FakeClock()
    pacing = limiter(clock)
    assert [pacing.reserve(1, group=False) for _ in range(3)] == pytest.approx([0, 1.1, 2.2])
    # Asked after chat 1's later messages, yet sent at once: they took their own times.
    assert pacing.reserve(2, group=False) == 0
    assert pacing.reserve(-5, group=True) == 0


def test_slots_are_given_in_the_order_asked_within_the_overall_budget() -> None:
    clock = FakeClock()
    pacing = RateLimiter(clock=clock, tolerance=0.0, overall=Window("overall", 3, 1.0))
    waits = [pacing.reserve(chat, group=False) for chat in range(1, 8)]
    assert waits == pytest.approx([0, 0, 0, 1, 1, 1, 2])
    clock.advance(0.5)
    # A chat's own wait leaves the overall slots before it to others.
    assert pacing.reserve(1, group=False) == pytest.approx(1.5)  # 2.0: the next free second
    assert pacing.reserve(9, group=False) == pytest.approx(1.5)
    assert pacing.reserve(10, group=False) == pytest.approx(2.5)


def test_a_free_slot_before_a_later_reservation_is_used_without_breaking_it() -> None:
    clock = FakeClock()
    limits = {**HUB_LIMITS, "overall": Window("overall", 2, 1.0)}
    pacing = RateLimiter(clock=clock, tolerance=0.0, **limits)
    assert pacing.reserve(1, group=False) == 0
    assert pacing.reserve(1, group=False) == pytest.approx(1.1)  # chat 1's second message
    assert pacing.reserve(2, group=False) == 0  # two at 0, then 1.1: two in any second
    # At 1.0, before chat 1's 1.1: the second before it and the one before 1.1 hold two.
    assert pacing.reserve(3, group=False) == pytest.approx(1.0)
    # 1.0 and 1.1 are taken: the next once 1.0 has left the window.
    assert pacing.reserve(4, group=False) == pytest.approx(2.0)


@given(
    st.lists(
        st.tuples(st.floats(0, 3), st.integers(-3, 12)),
        min_size=1,
        max_size=120,
    )
)
def test_reserved_times_keep_telegram_limits_as_the_sandbox_counts_them(
    asks: list[tuple[float, int]],
) -> None:
    clock = FakeClock()
    pacing = limiter(clock)
    account = SendAccount()
    for gap, chat in asks:
        clock.advance(gap)
        chat = chat or 1
        wait = pacing.reserve(chat, group=chat < 0)
        assert wait >= 0
        account.record(Send(clock() + wait, "bot", chat, chat < 0))
    assert account.violations == []


def test_concurrent_sends_each_take_their_own_slot() -> None:
    async def run() -> list[tuple[float, int]]:
        loop = asyncio.get_running_loop()
        channel = TelegramChannel("1:x", "http://127.0.0.1:9/bot")
        channel.limiter = RateLimiter(clock=loop.time, tolerance=0.0, **HUB_LIMITS)
        sent: list[tuple[float, int]] = []

        async def send(chat: int) -> None:
            async with channel.paced(chat):
                sent.append((loop.time(), chat))

        chats = [1, 1, 2, 3, 1, 4, 5, 6, *range(10, 60)]
        random.Random(3).shuffle(chats)
        await asyncio.gather(*(send(c) for c in chats))
        return sent

    sent = asyncio.run(run())
    account = SendAccount()
    for at, chat in sorted(sent):
        account.record(Send(at, "bot", chat, False))
    assert account.violations == []
    assert len(sent) == 58
    # 58 messages at 25 a second: about two seconds, chat 1's three messages included.
    span = max(at for at, _ in sent) - min(at for at, _ in sent)
    assert span < 3.0


def test_a_send_that_goes_out_late_moves_its_chats_next_slot() -> None:
    clock = FakeClock()
    pacing = limiter(clock)
    first = pacing.reserve_slot(1, group=False)
    clock.advance(0.4)  # the loop or the connection pool held it back
    pacing.sent(1, first.at, group=False)
    # 1.1 s after it really went, not after its slot.
    assert pacing.reserve(1, group=False) == pytest.approx(1.1)
    # The overall window counts it once, at 0.4: 24 more fit now, the next at 1.4.
    assert [pacing.reserve(c, group=False) for c in range(2, 26)] == [0] * 24
    assert pacing.reserve(30, group=False) == pytest.approx(1.0)


def test_sends_to_one_chat_keep_their_interval_from_when_they_really_went() -> None:
    interval = 0.11

    async def run() -> dict[int, list[float]]:
        loop = asyncio.get_running_loop()
        channel = TelegramChannel("1:x", "http://127.0.0.1:9/bot")
        channel.limiter = RateLimiter(
            clock=loop.time,
            tolerance=0.0,
            overall=Window("overall", 1000, 1.0),
            private_chat=Window("private_chat", 1, interval),
        )
        arrived: dict[int, list[float]] = {}
        delays = random.Random(7)

        async def send(chat: int) -> None:
            async with channel.paced(chat):
                # The request reaches Telegram some time within the block, up to a third
                # of a chat's interval after its slot (a busy loop, a full pool).
                await asyncio.sleep(delays.uniform(0, interval / 3))
                arrived.setdefault(chat, []).append(loop.time())
                await asyncio.sleep(delays.uniform(0, interval / 3))

        await asyncio.gather(*(send(chat) for chat in [1, 2, 3] * 5))
        assert len(channel._turns) == 0  # no lock left behind
        return arrived

    arrived = asyncio.run(run())
    assert sorted(arrived) == [1, 2, 3]
    for times in arrived.values():
        assert len(times) == 5
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= interval - 1e-3, gaps


def test_workers_share_one_budget_by_their_partitions() -> None:
    assert worker_budget(25, 3, 3) == Window("overall", 25, 1.0)
    parts = [worker_budget(25, n, 3) for n in (1, 1, 1)]
    assert [w.limit for w in parts] == [8, 8, 8]
    assert sum(w.limit / w.period for w in parts) == pytest.approx(25)
    two = worker_budget(30, 2, 6)
    assert two.limit / two.period == pytest.approx(10)
    # A worker with no partition (between rebalances) keeps one partition's part.
    assert worker_budget(30, 0, 6).limit / worker_budget(30, 0, 6).period == pytest.approx(5)
    # Below one message a second: one message in a longer window.
    slow = worker_budget(2, 1, 12)
    assert slow.limit == 1 and slow.period == pytest.approx(6)


def test_the_channel_paces_at_its_share() -> None:
    channel = TelegramChannel("1:x", "http://127.0.0.1:9/bot", messages_per_second=24)
    assert channel.limiter.overall == Window("overall", 24, 1.0)
    channel.share_budget(1, 3)
    assert channel.limiter.overall == Window("overall", 8, 1.0)
