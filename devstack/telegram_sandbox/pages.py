"""HTML pages of the chats and what was sent in them, every text escaped."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from aiohttp import web

from devstack.telegram_sandbox.params import chat_key
from devstack.telegram_sandbox.sandbox import TelegramSandbox
from devstack.telegram_sandbox.state import ChatRoom, StoredMessage
from devstack.telegram_sandbox.wire import JSON

_STYLE = (
    "body{font:15px system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em}"
    "table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;"
    "text-align:left}.message{border:1px solid #ccc;border-radius:8px;margin:1em 0;padding:.6em}"
    ".meta{color:#666;font-size:85%}.text{white-space:pre-wrap;font:inherit;margin:.4em 0}"
    ".deleted{opacity:.5}.button{border:1px solid #89b;border-radius:4px;padding:0 .4em;"
    "margin-right:.3em}"
)


def _page(title: str, body: str) -> web.Response:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="5">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(text=page, content_type="text/html")


class Pages:
    """The page handlers: the list of chats under /, one chat under /chats/<chat_id>."""

    def __init__(self, sandbox: TelegramSandbox) -> None:
        self.sandbox = sandbox

    async def index_page(self, _request: web.Request) -> web.Response:
        return _page("Telegram sandbox", render_index(self.sandbox))

    async def chat_page(self, request: web.Request) -> web.Response:
        room = self.sandbox.find_room(chat_key(request.match_info["chat_id"]))
        if room is None:
            raise web.HTTPNotFound(text="no such chat")
        return _page(f"Telegram sandbox: {room.chat.name}", render_chat(room))


def render_index(sandbox: TelegramSandbox) -> str:
    bots = ", ".join(f"@{html.escape(b.user['username'])}" for b in sandbox.bots.values())
    rows = "".join(
        f'<tr><td><a href="/chats/{room.chat.id}">{room.chat.id}</a></td>'
        f"<td>{html.escape(room.chat.type)}</td><td>{html.escape(room.chat.name)}</td>"
        f"<td>{len(room.sent())}</td></tr>"
        for room in sandbox.rooms.values()
    )
    stats = sandbox.stats
    return (
        f"<p>Bots: {bots}. Messages sent: {stats.messages_sent}; answered 429: "
        f"{stats.answered_429}; rate-limit violations: {stats.rate_limit_violations}.</p>"
        "<table><tr><th>chat id</th><th>type</th><th>name</th><th>sent</th></tr>"
        f"{rows}</table>"
    )


def render_chat(room: ChatRoom) -> str:
    messages = "".join(_render_message(m) for m in room.messages.values())
    return f'<p><a href="/">all chats</a></p>{messages or "<p>No messages yet.</p>"}'


def _render_message(stored: StoredMessage) -> str:
    message = stored.message
    sender = f"@{stored.bot}" if stored.outgoing else _sender_name(message)
    notes = [f"#{message['message_id']}", html.escape(sender or "")]
    notes.append(datetime.fromtimestamp(message["date"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    if stored.parse_mode:
        notes.append(f"parse_mode {html.escape(stored.parse_mode)}")
    if stored.edits:
        notes.append(f"edited {stored.edits} times")
    if stored.deleted:
        notes.append("deleted")
    entities = ", ".join(
        f"{html.escape(e['type'])} {e['offset']}+{e['length']}" for e in message.get("entities", [])
    )
    buttons = "".join(
        f'<span class="button">{html.escape(str(b.get("text")))}</span>'
        for row in message.get("reply_markup", {}).get("inline_keyboard", [])
        for b in row
    )
    source = (
        f"<details><summary>as sent</summary><pre>{html.escape(stored.source_text)}</pre></details>"
        if stored.source_text and stored.source_text != message["text"]
        else ""
    )
    return (
        f'<div class="message{" deleted" if stored.deleted else ""}">'
        f'<div class="meta">{" · ".join(notes)}</div>'
        f'<pre class="text">{html.escape(message["text"])}</pre>'
        f"{buttons}"
        f"{f'<div class=meta>entities: {entities}</div>' if entities else ''}{source}</div>"
    )


def _sender_name(message: JSON) -> str:
    user = message.get("from") or message.get("sender_chat") or {}
    return str(user.get("first_name") or user.get("title") or user.get("id", ""))
