"""The Telegram sandbox, driven by the real python-telegram-bot client and by its control API."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from channels.telegram.limits import Flood, RateLimiter, Window
from devstack.telegram_sandbox import TelegramSandbox, parse_html, serve

TOKEN = "123456:test-token-for-the-sandbox"
OTHER_TOKEN = "654321:another-bot"
CHANNEL_ID = -1001234567890
GROUP_ID = -4242


class FakeClock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Server:
    sandbox: TelegramSandbox
    url: str
    clock: FakeClock
    record_dir: Path


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it PTB 22 warns (an error under this suite's filterwarnings) whenever it builds
    # RetryAfter, because retry_after is to become a timedelta.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    clock = FakeClock()
    record_dir = tmp_path / "telegram"
    sandbox = TelegramSandbox([TOKEN, OTHER_TOKEN], record_dir=record_dir, clock=clock)
    async with serve(sandbox) as url:
        yield Server(sandbox, url, clock, record_dir)


@pytest.fixture
async def bot(server: Server) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=f"{server.url}/bot") as client:  # initialize() calls getMe
        yield client


@pytest.fixture
async def control(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def eventually(condition: Callable[[], Awaitable[bool] | bool], within: float = 10) -> None:
    """Wait until `condition` holds, checking it often; fail after `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            result = condition()
            if await result if isinstance(result, Awaitable) else result:
                return
            await asyncio.sleep(0.01)


async def sent_texts(control: httpx.AsyncClient, chat_id: int | str) -> list[str]:
    response = await control.get(f"/sandbox/chats/{chat_id}/messages")
    if response.status_code == 404:
        return []
    return [record["message"]["text"] for record in response.json()["messages"]]


async def add_fault(control: httpx.AsyncClient, **fault: Any) -> None:
    response = await control.post("/sandbox/faults", json=fault)
    assert response.status_code == 201, response.text


async def inject(control: httpx.AsyncClient, **update: Any) -> dict[str, Any]:
    response = await control.post("/sandbox/updates", json=update)
    assert response.status_code == 201, response.text
    return dict(response.json()["update"])


# --- Identity and authorisation -------------------------------------------------------------------


async def test_get_me_through_initialize(bot: Bot) -> None:
    assert bot.bot.is_bot
    assert bot.id == 123456
    assert bot.username == "sandbox_123456_bot"
    assert bot.can_join_groups is True
    assert bot.can_read_all_group_messages is False
    assert bot.supports_inline_queries is False


async def test_unknown_token_is_refused_like_telegram(
    server: Server, control: httpx.AsyncClient
) -> None:
    response = await control.post("/bot999:unknown-token/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    malformed = await control.post("/botnot-a-token/getMe")
    assert malformed.status_code == 404
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("999:unknown-token", base_url=f"{server.url}/bot"):
            pass


async def test_second_token_is_a_second_bot(server: Server) -> None:
    async with Bot(OTHER_TOKEN, base_url=f"{server.url}/bot") as other:
        assert other.username == "sandbox_654321_bot"


async def test_unknown_method_is_not_found(control: httpx.AsyncClient) -> None:
    response = await control.post(f"/bot{TOKEN}/sendTelepathy")
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_json_form_and_query_parameters_are_equivalent(control: httpx.AsyncClient) -> None:
    markup = {"inline_keyboard": [[{"text": "Research", "callback_data": "topic:research"}]]}
    as_json = await control.post(
        f"/bot{TOKEN}/sendMessage", json={"chat_id": 1, "text": "json", "reply_markup": markup}
    )
    as_form = await control.post(
        f"/bot{TOKEN}/sendMessage",
        data={"chat_id": "2", "text": "form", "reply_markup": json.dumps(markup)},
    )
    as_multipart = await control.post(
        f"/bot{TOKEN}/sendMessage",
        data={"chat_id": "3", "text": "multipart"},
        files={"unused": ("x.txt", b"x")},
    )
    as_query = await control.get(f"/bot{TOKEN}/sendMessage", params={"chat_id": 4, "text": "q"})
    for response, text in [(as_json, "json"), (as_form, "form"), (as_multipart, "multipart")]:
        body = response.json()
        assert body["ok"] is True and body["result"]["text"] == text
    assert as_query.json()["result"]["chat"] == {"id": 4, "first_name": "User 4", "type": "private"}
    assert as_json.json()["result"]["reply_markup"] == markup
    assert as_form.json()["result"]["reply_markup"] == markup


# --- sendMessage and HTML -------------------------------------------------------------------------


async def test_html_message_is_recorded_with_plain_text_and_entities(
    server: Server, bot: Bot, control: httpx.AsyncClient
) -> None:
    html = (
        '<b>Research</b> &amp; <a href="https://example.org/r">more</a>\n'
        "<tg-spoiler>later</tg-spoiler> &lt;ok&gt;"
    )
    message = await bot.send_message(42, html, parse_mode=ParseMode.HTML)

    assert message.text == "Research & more\nlater <ok>"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 0, 8),
        ("text_link", 11, 4),
        ("spoiler", 16, 5),
    ]
    assert message.entities[1].url == "https://example.org/r"
    assert message.from_user is not None and message.from_user.id == bot.id
    assert message.chat.id == 42 and message.chat.type == "private"

    records = (await control.get("/sandbox/chats/42/messages")).json()["messages"]
    assert [r["message"]["text"] for r in records] == [message.text]
    assert records[0]["source_text"] == html and records[0]["parse_mode"] == "HTML"
    lines = (server.record_dir / "42.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["message"]["text"] == message.text
    stats = (await control.get("/sandbox/stats")).json()
    assert stats["messages_sent"] == 1 and stats["per_chat"] == {"42": 1}


async def test_message_ids_count_up_per_chat(server: Server, bot: Bot) -> None:
    first = await bot.send_message(7, "one")
    other_chat = await bot.send_message(8, "elsewhere")
    server.clock.advance(1)
    second = await bot.send_message(7, "two")
    assert (first.message_id, second.message_id, other_chat.message_id) == (1, 2, 1)


async def test_pages_show_what_was_sent_escaped(bot: Bot, control: httpx.AsyncClient) -> None:
    await bot.send_message(
        42, "&lt;script&gt;alert(1)&lt;/script&gt; <i>hi</i>", parse_mode=ParseMode.HTML
    )
    index = await control.get("/")
    assert index.status_code == 200 and 'href="/chats/42"' in index.text
    page = await control.get("/chats/42")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; hi" in page.text
    assert "<script>" not in page.text


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<x>y</x>", 'Unsupported start tag "x" at byte offset 0'),
        ("é <br>", 'Unsupported start tag "br" at byte offset 3'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<a href="https://example.org">x', 'Can\'t find end tag corresponding to start tag "a"'),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
async def test_bad_html_is_a_bad_request(
    bot: Bot, control: httpx.AsyncClient, source: str, reason: str
) -> None:
    with pytest.raises(BadRequest, match=r"^Can't parse entities: "):
        await bot.send_message(42, source, parse_mode=ParseMode.HTML)
    # PTB lower-cases the description it shows, so the exact words are checked over HTTP.
    raw = await control.post(
        f"/bot{TOKEN}/sendMessage", data={"chat_id": "42", "text": source, "parse_mode": "HTML"}
    )
    assert raw.status_code == 400
    assert raw.json()["description"] == f"Bad Request: can't parse entities: {reason}"


async def test_length_is_counted_after_parsing(server: Server, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(42, "x" * 4097)
    longest = await bot.send_message(42, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    assert len(longest.text or "") == 4096
    server.clock.advance(1)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(42, "  <b> </b>\n", parse_mode=ParseMode.HTML)


def test_html_parsing_details() -> None:
    assert parse_html("AT&T &#x1F600; &#39;") == ("AT&T 😀 '", [])
    text, entities = parse_html('😀<b>bold</b> <pre><code class="language-py">x = 1</code></pre>')
    assert text == "😀bold x = 1"
    assert entities == [
        {"type": "bold", "offset": 2, "length": 4},  # the emoji is two UTF-16 units
        {"type": "pre", "offset": 7, "length": 5, "language": "py"},
    ]
    _, nested = parse_html("<b><i>both</i></b><blockquote expandable>q</blockquote>")
    assert [e["type"] for e in nested] == ["bold", "italic", "expandable_blockquote"]
    _, links = parse_html("<a href=example.org>site</a> <a>https://x.org</a>")
    assert [e["url"] for e in links] == ["http://example.org", "https://x.org"]


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


# --- Other methods --------------------------------------------------------------------------------


async def test_edit_and_delete(server: Server, bot: Bot, control: httpx.AsyncClient) -> None:
    sent = await bot.send_message(42, "draft")
    edited = await bot.edit_message_text("<b>final</b>", 42, sent.message_id, parse_mode="HTML")
    assert isinstance(edited, type(sent)) and edited.text == "final" and edited.edit_date
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("<b>final</b>", 42, sent.message_id, parse_mode="HTML")
    assert await bot.delete_message(42, sent.message_id) is True
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(42, sent.message_id)
    (record,) = (await control.get("/sandbox/chats/42/messages")).json()["messages"]
    assert record["deleted"] is True and record["edits"] == 1
    lines = (server.record_dir / "42.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["sent", "edited", "deleted"]


async def test_channels_by_username(bot: Bot, control: httpx.AsyncClient) -> None:
    chat = {"id": CHANNEL_ID, "type": "channel", "title": "Hub news", "username": "hubnews"}
    assert (await control.post("/sandbox/chats", json=chat)).status_code == 201
    posted = await bot.send_message("@hubnews", "Announcement")
    assert posted.chat.id == CHANNEL_ID and posted.chat.type == "channel"
    assert posted.sender_chat is not None and posted.sender_chat.id == CHANNEL_ID
    full = await bot.get_chat("@HubNews")
    assert full.title == "Hub news"
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message("@nobody_here", "x")


async def test_strict_chats_know_only_registered_chats(server: Server, bot: Bot) -> None:
    server.sandbox.strict_chats = True
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(777)


async def test_chat_action_and_commands(bot: Bot) -> None:
    assert await bot.send_chat_action(42, "typing") is True
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(42, "dancing")
    commands = [BotCommand("start", "Subscribe"), BotCommand("topics", "Choose topics")]
    assert await bot.set_my_commands(commands) is True
    assert await bot.get_my_commands() == tuple(commands)
    assert await bot.get_my_commands(language_code="fr") == ()
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Not-Valid", "x")])
    assert await bot.close() is True


async def test_reset_forgets_everything(
    server: Server, bot: Bot, control: httpx.AsyncClient
) -> None:
    await bot.send_message(42, "before")
    await add_fault(control, kind="bot_blocked")
    before = await inject(control, chat_id=42, text="pending")
    assert (await control.post("/sandbox/reset")).status_code == 200
    assert (await control.get("/sandbox/chats")).json() == {"chats": []}
    assert (await control.get("/sandbox/stats")).json()["messages_sent"] == 0
    assert await bot.get_updates() == ()
    await bot.send_message(42, "after")  # neither the fault nor the limit survived
    assert await sent_texts(control, 42) == ["after"]
    # Update ids keep growing, so a client's stored offset does not hide new updates.
    after = await inject(control, chat_id=42, text="new")
    assert after["update_id"] > before["update_id"]
