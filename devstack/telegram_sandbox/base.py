"""What the sandbox's parts share: its state, chat lookup and waking of waiting requests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable

from aiohttp import ClientSession

from devstack.telegram_sandbox.accounting import SendAccount
from devstack.telegram_sandbox.errors import bad_request
from devstack.telegram_sandbox.faults import Fault
from devstack.telegram_sandbox.params import Params
from devstack.telegram_sandbox.recorder import Recorder
from devstack.telegram_sandbox.state import BotState, Chat, ChatRoom
from devstack.telegram_sandbox.stats import Stats
from devstack.telegram_sandbox.wire import JSON


class SandboxBase:
    """The state TelegramSandbox sets up, and the helpers its Bot API methods share."""

    tokens: list[str]
    recorder: Recorder
    enforce_limits: bool
    strict_chats: bool
    bots: dict[str, BotState]
    rooms: dict[int, ChatRoom]
    faults: list[Fault]
    stats: Stats
    account: SendAccount
    clock: Callable[[], float]
    requests: deque[JSON]
    _closing: asyncio.Event
    _session: ClientSession | None
    _deliveries: dict[str, asyncio.Task[None]]  # bot token -> webhook delivery
    _query_ids: itertools.count[int]

    # Waiting and waking.

    async def _pause(self, seconds: float) -> bool:
        """Wait `seconds` unless the server is stopping; True if it is."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
        return self._closing.is_set()

    async def _wake(self, bot: BotState) -> None:
        async with bot.changed:
            bot.changed.notify_all()

    # Chats.

    def register_chat(self, chat: Chat) -> ChatRoom:
        room = self.rooms.get(chat.id)
        if room is None:
            room = self.rooms[chat.id] = ChatRoom(chat)
        else:
            room.chat = chat
        return room

    def find_room(self, key: int | str | None) -> ChatRoom | None:
        if isinstance(key, int):
            return self.rooms.get(key)
        # Telegram accepts @username for channels and public supergroups, not for people.
        for room in self.rooms.values():
            username = room.chat.username
            if room.chat.is_group and username and f"@{username.lower()}" == key:
                return room
        return None

    def _room(self, params: Params) -> ChatRoom:
        key = params.chat()
        room = self.find_room(key)
        if room is not None:
            return room
        if isinstance(key, str) or self.strict_chats:
            raise bad_request("chat not found")
        return self.register_chat(Chat.default(key))
