"""The Bot API's methods on messages, chats, callback queries and bot commands."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from devstack.telegram_sandbox.accounting import Send
from devstack.telegram_sandbox.base import SandboxBase
from devstack.telegram_sandbox.content import inline_keyboard, message_text
from devstack.telegram_sandbox.errors import bad_request, too_many_requests
from devstack.telegram_sandbox.params import Params
from devstack.telegram_sandbox.state import BotState, Chat, StoredMessage
from devstack.telegram_sandbox.wire import JSON

MAX_CALLBACK_ANSWER_LENGTH = 200
COMMAND_PATTERN = re.compile(r"[a-z0-9_]+")
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


class MessageMethods(SandboxBase):
    """Sending, editing and deleting messages; chats, callback answers, bot commands."""

    # Sending, editing, deleting.

    async def get_me(self, bot: BotState, _params: Params) -> JSON:
        return bot.me()

    async def send_message(self, bot: BotState, params: Params) -> JSON:
        room = self._room(params)
        text, entities = message_text(params)
        markup = inline_keyboard(params)
        self._check_limits(bot, room.chat)
        message: JSON = {"message_id": room.next_message_id(), **self._sender(bot, room.chat)}
        message.update(chat=room.chat.summary(), date=int(time.time()), text=text)
        if entities:
            message["entities"] = entities
        if markup:
            message["reply_markup"] = markup
        stored = StoredMessage(
            message,
            outgoing=True,
            bot=bot.user["username"],
            parse_mode=params.string("parse_mode"),
            source_text=params.string("text"),
        )
        room.messages[message["message_id"]] = stored
        self.stats.messages_sent += 1
        self.stats.per_chat[room.chat.id] += 1
        sent = Send(self.clock(), bot.user["username"], room.chat.id, room.chat.is_group)
        self.account.record(sent)
        self.recorder.append(room.chat.id, "sent", **_record_fields(stored))
        return message

    def _check_limits(self, bot: BotState, chat: Chat) -> None:
        flood = bot.limiter.check(chat.id, group=chat.is_group)
        if flood is not None:
            self.stats.rate_limit_violations += 1
            self.stats.violations_per_limit[flood.window] += 1
            if self.enforce_limits:
                raise too_many_requests(flood.retry_after)
        bot.limiter.record(chat.id, group=chat.is_group)

    @staticmethod
    def _sender(bot: BotState, chat: Chat) -> JSON:
        # A channel post is sent on behalf of the channel; elsewhere the bot is the sender.
        return {"sender_chat": chat.summary()} if chat.type == "channel" else {"from": bot.user}

    async def edit_message_text(self, bot: BotState, params: Params) -> JSON:
        room = self._room(params)
        message_id = params.integer("message_id", missing="message identifier is not specified")
        text, entities = message_text(params)
        markup = inline_keyboard(params)
        stored = room.messages.get(message_id or 0)
        if stored is None or stored.deleted:
            raise bad_request("message to edit not found")
        if not stored.outgoing:
            raise bad_request("message can't be edited")
        old = stored.message
        if _content(old) == (text, entities, markup):
            raise bad_request(NOT_MODIFIED)
        new = {k: v for k, v in old.items() if k not in ("entities", "reply_markup")}
        new.update(text=text, edit_date=int(time.time()))
        if entities:
            new["entities"] = entities
        if markup:  # an edit without reply_markup removes the inline keyboard
            new["reply_markup"] = markup
        stored.message, stored.edits = new, stored.edits + 1
        stored.parse_mode, stored.source_text = params.string("parse_mode"), params.string("text")
        self.recorder.append(room.chat.id, "edited", **_record_fields(stored))
        return new

    async def delete_message(self, bot: BotState, params: Params) -> bool:
        room = self._room(params)
        message_id = params.integer("message_id", missing="message identifier is not specified")
        stored = room.messages.get(message_id or 0)
        if stored is None or stored.deleted:
            raise bad_request("message to delete not found")
        stored.deleted = True
        self.recorder.append(
            room.chat.id, "deleted", bot=bot.user["username"], message_id=message_id
        )
        return True

    async def get_chat(self, _bot: BotState, params: Params) -> JSON:
        return self._room(params).chat.full_info()

    async def send_chat_action(self, _bot: BotState, params: Params) -> bool:
        self._room(params)
        if params.string("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def answer_callback_query(self, bot: BotState, params: Params) -> bool:
        query_id = params.string("callback_query_id", missing="query_id is empty") or ""
        text = params.string("text") or ""
        if query_id not in bot.open_queries:
            raise bad_request(QUERY_TOO_OLD)
        if len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        chat_id = bot.open_queries.pop(query_id)
        answer = {
            "callback_query_id": query_id,
            "text": text,
            "show_alert": params.flag("show_alert"),
        }
        self.recorder.append(chat_id, "callback_answered", bot=bot.user["username"], **answer)
        return True

    # Bot commands (setMyCommands and friends), per scope and language.

    async def set_my_commands(self, bot: BotState, params: Params) -> bool:
        commands = params.structure("commands", what="commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        bot.commands[_scope_key(params)] = [_command(c) for c in commands]
        return True

    async def get_my_commands(self, bot: BotState, params: Params) -> list[JSON]:
        return bot.commands.get(_scope_key(params), [])

    async def delete_my_commands(self, bot: BotState, params: Params) -> bool:
        bot.commands.pop(_scope_key(params), None)
        return True

    async def close_bot(self, _bot: BotState, _params: Params) -> bool:
        return True

    async def log_out(self, _bot: BotState, _params: Params) -> bool:
        return True


def _content(message: JSON) -> tuple[str, list[JSON], JSON | None]:
    return message["text"], message.get("entities", []), message.get("reply_markup")


def _record_fields(stored: StoredMessage) -> JSON:
    return {
        "bot": stored.bot,
        "parse_mode": stored.parse_mode,
        "source_text": stored.source_text,
        "message": stored.message,
    }


def _scope_key(params: Params) -> tuple[str, str]:
    scope = params.structure("scope", what="scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), params.string("language_code") or ""


def _command(data: Any) -> JSON:
    """One BotCommand, checked as TDLib checks it."""
    if not isinstance(data, dict):
        raise bad_request("can't parse BotCommand")
    command = str(data.get("command") or "").strip().removeprefix("/")
    description = str(data.get("description") or "").strip()
    if not command:
        raise bad_request("command must be non-empty")
    if len(command) > 32:
        raise bad_request("command length must not exceed 32")
    if not COMMAND_PATTERN.fullmatch(command):
        raise bad_request("BOT_COMMAND_INVALID")
    if not description:
        raise bad_request("command description must be non-empty")
    if len(description) > 256:
        raise bad_request("command description length must not exceed 256")
    return {"command": command, "description": description}
