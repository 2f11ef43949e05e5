"""The sandbox's own account of what was sent: times, chats, and Telegram's limits broken."""

from __future__ import annotations

import httpx
from telegram import Bot

from devstack.telegram_sandbox.accounting import Send, SendAccount
from tests.sandbox_fixtures import GROUP_ID, Server


def sends(account: SendAccount, chat_id: int, times: list[float], *, group: bool = False) -> None:
    for at in times:
        account.record(Send(at, "bot", chat_id, group))


def test_one_message_a_second_per_private_chat() -> None:
    account = SendAccount()
    sends(account, 1, [0.0, 1.0, 1.5, 3.0])
    sends(account, 2, [0.1, 0.2])
    assert [(v.limit, v.send.chat_id, v.send.at) for v in account.violations] == [
        ("private_chat", 1, 1.5),
        ("private_chat", 2, 0.2),
    ]


def test_twenty_a_minute_per_group() -> None:
    account = SendAccount()
    sends(account, GROUP_ID, [i * 2.0 for i in range(20)], group=True)
    assert account.violations == []
    sends(account, GROUP_ID, [50.0], group=True)  # 21 within a minute
    sends(account, GROUP_ID, [62.5], group=True)  # the first two have left the window
    assert [(v.limit, v.count) for v in account.violations] == [("group_chat", 21)]


def test_thirty_a_second_overall_and_per_bot() -> None:
    account = SendAccount()
    for chat in range(31):
        account.record(Send(chat * 0.01, "bot", chat + 1, False))
    account.record(Send(0.5, "other_bot", 99, False))
    assert [(v.limit, v.count) for v in account.violations] == [("overall", 31)]


def test_the_rate_is_judged_against_what_the_limits_allow() -> None:
    account = SendAccount()
    # 3 messages to each of 20 chats: 60 messages, at least 2 s by the overall limit (30 at 0 s,
    # 30 at 1 s... the 60th at 1 s) and 2 s by each chat's (its third at 2 s).
    times = iter(i * 0.05 for i in range(60))
    for _round in range(3):
        for chat in range(20):
            account.record(Send(next(times), "bot", chat + 1, False))
    summary = account.summary()
    assert summary["sends"] == 60 and summary["chats"] == 20
    assert summary["shortest_span_seconds"] == 2.0
    assert abs(summary["span_seconds"] - 2.95) < 1e-9
    assert abs(summary["rate_of_allowed"] - 2.0 / 2.95) < 1e-9
    assert summary["violations"] == 0


async def test_the_control_api_lists_every_send_and_violation(
    server: Server, bot: Bot, control: httpx.AsyncClient
) -> None:
    server.sandbox.enforce_limits = False
    await bot.send_message(42, "one")
    server.clock.advance(0.5)
    await bot.send_message(42, "two, too soon")
    server.clock.advance(1.0)
    await bot.send_message(GROUP_ID, "to the group")
    body = (await control.get("/sandbox/sends")).json()
    assert [(s["chat_id"], s["at"]) for s in body["sends"]] == [
        (42, 1000.0),
        (42, 1000.5),
        (GROUP_ID, 1001.5),
    ]
    assert [(v["limit"], v["chat_id"]) for v in body["violations"]] == [("private_chat", 42)]
    assert body["summary"]["violations"] == 1
    await control.post("/sandbox/reset")
    assert (await control.get("/sandbox/sends")).json()["sends"] == []
