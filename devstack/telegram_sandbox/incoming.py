"""Updates a user causes (messages, channel posts, button presses), injected by the control API."""

from __future__ import annotations

import time
from typing import Any

from devstack.telegram_sandbox.base import SandboxBase
from devstack.telegram_sandbox.content import bot_command_entities
from devstack.telegram_sandbox.errors import ControlError
from devstack.telegram_sandbox.params import chat_key
from devstack.telegram_sandbox.state import BotState, Chat, ChatRoom, StoredMessage
from devstack.telegram_sandbox.wire import JSON

DEFAULT_USER: JSON = {
    "id": 700000001,
    "is_bot": False,
    "first_name": "Sandbox",
    "language_code": "en",
}


class IncomingUpdates(SandboxBase):
    """Builds the updates a user would cause and queues them for the bot."""

    async def inject_update(self, data: JSON) -> JSON:
        """Build a user's update (message, channel post or callback query) and queue it."""
        bot = self._control_bot(data.get("token"))
        room = self._control_room(data.get("chat_id"))
        if data.get("callback_data") is not None:
            payload = {"callback_query": self._callback_query(bot, room, data)}
        elif isinstance(data.get("text"), str) and data["text"]:
            payload = self._incoming_message(room, data)
        else:
            raise ControlError("an update needs a non-empty text or a callback_data")
        update = {"update_id": next(bot.update_ids), **payload}
        bot.updates.append(update)
        self.stats.updates_injected += 1
        await self._wake(bot)
        return update

    def _control_bot(self, token: Any) -> BotState:
        bot = self.bots.get(token or self.tokens[0])
        if bot is None:
            raise ControlError("unknown bot token")
        return bot

    def _control_room(self, chat_id: Any) -> ChatRoom:
        key = chat_key(chat_id)
        room = self.find_room(key)
        if room is None and isinstance(key, int):
            room = self.register_chat(Chat.default(key))  # a person who writes has a chat
        if room is None:
            raise ControlError("chat_id must be an integer or a registered @username")
        return room

    def _user(self, room: ChatRoom, given: Any) -> JSON:
        if given is not None and not (isinstance(given, dict) and isinstance(given.get("id"), int)):
            raise ControlError("from must be a User object with an integer id")
        base = room.chat.user() if room.chat.type == "private" else DEFAULT_USER
        return {**base, **(given or {}), "is_bot": bool((given or {}).get("is_bot", False))}

    def _incoming_message(self, room: ChatRoom, data: JSON) -> JSON:
        text = data["text"]
        message: JSON = {"message_id": room.next_message_id()}
        if room.chat.type == "channel":
            message["sender_chat"] = room.chat.summary()
        else:
            message["from"] = self._user(room, data.get("from"))
        message.update(chat=room.chat.summary(), date=int(time.time()), text=text)
        entities = bot_command_entities(text)
        if entities:
            message["entities"] = entities
        room.messages[message["message_id"]] = StoredMessage(message, outgoing=False)
        return {"channel_post" if room.chat.type == "channel" else "message": message}

    def _callback_query(self, bot: BotState, room: ChatRoom, data: JSON) -> JSON:
        sent = room.sent()
        message_id = data.get("message_id") or (sent[-1].message["message_id"] if sent else None)
        if not isinstance(message_id, int):
            raise ControlError("a callback query needs the message_id of a message with buttons")
        stored = room.messages.get(message_id)
        message = (
            stored.message
            if stored is not None and not stored.deleted
            else {"chat": room.chat.summary(), "message_id": message_id, "date": 0}
        )  # date 0 marks an InaccessibleMessage
        query_id = str(next(self._query_ids))
        bot.open_queries[query_id] = room.chat.id
        return {
            "id": query_id,
            "from": self._user(room, data.get("from")),
            "message": message,
            "chat_instance": str(abs(room.chat.id) * 7919 + bot.user["id"]),
            "data": str(data["callback_data"]),
        }
