"""The Telegram channel against the Bot API sandbox, over real HTTP with python-telegram-bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from channels.telegram.channel import TelegramChannel
from devstack.telegram_sandbox import Fault, TelegramSandbox, serve
from hub.errors import ChatMovedError, RateLimitedError, RecipientBlockedError
from hub.model.deliveries import ChannelKey, Delivery, Recipient
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT
from tests.helpers import event

TOKEN = "555:channel-test-token"
RENDERER = Renderer(REPO_ROOT / "templates")


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[tuple[TelegramSandbox, str]]:
    box = TelegramSandbox([TOKEN], record_dir=tmp_path / "telegram")
    async with serve(box) as url:
        yield box, url


@pytest.fixture
async def channel(sandbox: tuple[TelegramSandbox, str]) -> AsyncIterator[TelegramChannel]:
    _box, url = sandbox
    sender = TelegramChannel(TOKEN, f"{url}/bot", timeout=5)
    yield sender
    await sender.close()


def delivery(chat: str, language: str = "en") -> Delivery:
    return Delivery("d1", "e1", ChannelKey.TELEGRAM, language, Recipient("r1", "R", chat))


async def sent_to(url: str, chat: str) -> list[str]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/sandbox/chats/{chat}/messages")
    return [m["message"]["text"] for m in response.json()["messages"]]


async def test_announcement_arrives_as_telegram_html(
    sandbox: tuple[TelegramSandbox, str], channel: TelegramChannel
) -> None:
    _box, url = sandbox
    news = event()
    receipts = await channel.send(RENDERER.render(news, "telegram", "fr"), delivery("1001", "fr"))
    assert len(receipts) == 1
    (text,) = await sent_to(url, "1001")
    assert text.startswith(news.content["fr"].title)


async def test_hostile_title_arrives_as_text(
    sandbox: tuple[TelegramSandbox, str], channel: TelegramChannel
) -> None:
    _box, url = sandbox
    title = 'Talks <script>alert("x")</script> & <b>bold'
    news = event(content={"en": {"title": title, "summary": "<i>s", "body": "a < b"}})
    await channel.send(RENDERER.render(news, "telegram", "en"), delivery("1002"))
    (text,) = await sent_to(url, "1002")
    assert text.startswith(title)  # shown literally: the sandbox parsed it as valid HTML


async def test_long_announcement_is_split_and_paced_for_the_chat(
    sandbox: tuple[TelegramSandbox, str], channel: TelegramChannel
) -> None:
    box, url = sandbox
    body = "\n\n".join(
        f"**Section {i}.** " + "Migration governance matters. " * 60 for i in range(6)
    )
    news = event(content={"en": {"title": "Long", "summary": "Long", "body": body}})
    receipts = await channel.send(RENDERER.render(news, "telegram", "en"), delivery("1003"))
    assert len(receipts) >= 2
    assert len(await sent_to(url, "1003")) == len(receipts)
    assert box.stats.rate_limit_violations == 0  # one message per second in a private chat


async def test_telegram_errors_map_to_what_to_do_next(
    sandbox: tuple[TelegramSandbox, str], channel: TelegramChannel
) -> None:
    box, _url = sandbox
    rendered = RENDERER.render(event(), "telegram", "en")
    box.faults.append(Fault(kind="too_many_requests", chat_id=2001, retry_after=7))
    with pytest.raises(RateLimitedError) as limited:
        await channel.send(rendered, delivery("2001"))
    assert limited.value.retry_after == 7
    box.faults.append(Fault(kind="bot_blocked", chat_id=2002))
    with pytest.raises(RecipientBlockedError):
        await channel.send(rendered, delivery("2002"))
    box.faults.append(Fault(kind="chat_migrated", chat_id=-2003, migrate_to_chat_id=-1002003))
    with pytest.raises(ChatMovedError) as moved:
        await channel.send(rendered, delivery("-2003"))
    assert moved.value.new_chat_id == -1002003
