"""Updates from the Telegram sandbox: getUpdates, long polls, callback queries, webhooks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    Conflict,
)

from tests.sandbox_fixtures import (
    TOKEN,
    Server,
    eventually,
    inject,
)

# --- Updates: getUpdates, callback queries, webhooks ----------------------------------------------


async def test_start_command_arrives_through_get_updates(
    bot: Bot, control: httpx.AsyncClient
) -> None:
    user = {"id": 42, "first_name": "Ada", "language_code": "fr"}
    await inject(control, chat_id=42, text="/start abc123", **{"from": user})

    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.text == "/start abc123"
    assert update.message.from_user is not None and update.message.from_user.first_name == "Ada"
    (entity,) = update.message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 6)
    assert update.message.parse_entities(["bot_command"]) == {entity: "/start"}

    assert await bot.get_updates(offset=update.update_id + 1) == ()
    assert await bot.get_updates() == ()  # confirmed updates are gone for good


async def test_long_poll_wakes_when_an_update_arrives(
    server: Server, bot: Bot, control: httpx.AsyncClient
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await eventually(lambda: any(r["method"] == "getUpdates" for r in server.sandbox.requests))
    await inject(control, chat_id=5, text="hello")
    (update,) = await asyncio.wait_for(poll, 10)
    assert update.message is not None and update.message.text == "hello"


async def test_a_second_poller_ends_the_waiting_one(server: Server, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await eventually(lambda: any(r["method"] == "getUpdates" for r in server.sandbox.requests))
    # A second instance of the same bot, as when two copies of a service run at once.
    async with Bot(TOKEN, base_url=f"{server.url}/bot") as second_instance:
        assert await second_instance.get_updates() == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_callback_query_arrives_and_is_answered_once(
    bot: Bot, control: httpx.AsyncClient
) -> None:
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Research", callback_data="topic:research")]]
    )
    sent = await bot.send_message(42, "Pick a topic", reply_markup=keyboard)
    assert sent.reply_markup == keyboard
    await inject(control, chat_id=42, callback_data="topic:research", message_id=sent.message_id)

    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "topic:research"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.from_user.id == 42
    assert await bot.answer_callback_query(query.id, text="Saved") is True
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query.id)


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[tuple[str, asyncio.Queue[web.Request]]]:
    """A local HTTP endpoint that queues every request it gets, with its body read."""
    received: asyncio.Queue[web.Request] = asyncio.Queue()

    async def accept(request: web.Request) -> web.Response:
        await request.read()
        await received.put(request)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", accept)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", received
    finally:
        await runner.cleanup()


async def test_webhook_receives_updates_and_blocks_polling(
    bot: Bot, control: httpx.AsyncClient
) -> None:
    async with webhook_receiver() as (url, received):
        assert await bot.set_webhook(url, secret_token="s3cret_token") is True
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0

        sent = await inject(control, chat_id=42, text="/help")
        request = await asyncio.wait_for(received.get(), 10)
        assert request.headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret_token"
        assert json.loads(await request.text()) == sent

        assert await bot.delete_webhook() is True
    assert await bot.get_updates() == ()


async def test_webhook_must_stay_on_this_machine(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="loopback"):
        await bot.set_webhook("https://example.org/hook")
