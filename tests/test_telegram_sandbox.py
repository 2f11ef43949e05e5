"""The Telegram sandbox, driven by the real python-telegram-bot client: identity, HTML, the rest."""

from __future__ import annotations

import json

import httpx
import pytest
from telegram import Bot, BotCommand
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    InvalidToken,
)

from devstack.telegram_sandbox import parse_html
from tests.sandbox_fixtures import (
    CHANNEL_ID,
    OTHER_TOKEN,
    TOKEN,
    Server,
    add_fault,
    inject,
    sent_texts,
)

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
