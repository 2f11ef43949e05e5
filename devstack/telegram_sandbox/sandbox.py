"""The sandbox: bots, chats and faults behind the Bot API, and the dispatch of its methods."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from devstack.telegram_sandbox.accounting import SendAccount
from devstack.telegram_sandbox.errors import ApiError, GatewayError
from devstack.telegram_sandbox.faults import Fault
from devstack.telegram_sandbox.incoming import IncomingUpdates
from devstack.telegram_sandbox.methods import MessageMethods
from devstack.telegram_sandbox.params import Params, chat_key
from devstack.telegram_sandbox.recorder import Recorder
from devstack.telegram_sandbox.state import BotState, Chat, ChatRoom
from devstack.telegram_sandbox.stats import Stats
from devstack.telegram_sandbox.updates import UpdateMethods
from devstack.telegram_sandbox.wire import JSON
from hub.settings import REPO_ROOT

DEFAULT_TOKEN = "123456789:sandbox-token-for-local-development"  # noqa: S105 (not a secret)
DEFAULT_RECORD_DIR = REPO_ROOT / "var" / "outbox" / "telegram"
TOKEN_PATTERN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")

Method = Callable[[BotState, Params], Awaitable[Any]]


class TelegramSandbox(MessageMethods, UpdateMethods, IncomingUpdates):
    """The state behind the HTTP API: bots, chats, messages, updates, faults and statistics."""

    def __init__(
        self,
        tokens: Sequence[str] = (DEFAULT_TOKEN,),
        *,
        record_dir: Path | None = DEFAULT_RECORD_DIR,
        clock: Callable[[], float] = time.monotonic,
        enforce_limits: bool = True,
        strict_chats: bool = False,
    ) -> None:
        for token in tokens:
            if not TOKEN_PATTERN.fullmatch(token):
                raise ValueError(f"not a bot token (digits, a colon, letters): {token!r}")
        if not tokens:
            raise ValueError("at least one bot token is needed")
        self.tokens = list(dict.fromkeys(tokens))
        self.recorder = Recorder(record_dir)
        self.enforce_limits = enforce_limits
        self.strict_chats = strict_chats
        self._closing = asyncio.Event()
        self._session: ClientSession | None = None
        self._deliveries: dict[str, asyncio.Task[None]] = {}  # bot token -> webhook delivery
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._methods: dict[str, tuple[str, Method]] = {
            name.lower(): (name, method) for name, method in self._method_table().items()
        }
        self.clock = clock
        self.bots = {token: BotState(token, clock) for token in self.tokens}
        self._clear()

    def _clear(self) -> None:
        self.rooms: dict[int, ChatRoom] = {}
        self.faults: list[Fault] = []
        self.stats = Stats()
        self.account = SendAccount()
        self.requests: deque[JSON] = deque(maxlen=1000)

    def _method_table(self) -> dict[str, Method]:
        return {
            "getMe": self.get_me,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "deleteMessage": self.delete_message,
            "getChat": self.get_chat,
            "sendChatAction": self.send_chat_action,
            "answerCallbackQuery": self.answer_callback_query,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "close": self.close_bot,
            "logOut": self.log_out,
        }

    # Lifecycle, tied to the aiohttp application's signals.

    async def on_startup(self, _app: web.Application | None = None) -> None:
        self._closing.clear()

    async def on_shutdown(self, _app: web.Application | None = None) -> None:
        """Release long polls and held requests so the server can stop at once."""
        self._closing.set()
        for bot in self.bots.values():
            await self._wake(bot)

    async def on_cleanup(self, _app: web.Application | None = None) -> None:
        tasks = list(self._deliveries.values())
        self._deliveries.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def reset(self) -> None:
        """Forget chats, messages, updates, webhooks, faults, limits and statistics."""
        for bot in self.bots.values():
            self._stop_webhook(bot)
            bot.clear()
        self._clear()
        for bot in self.bots.values():
            await self._wake(bot)

    # Dispatch.

    def bot(self, token: str) -> BotState:
        bot = self.bots.get(token)
        if bot is not None:
            return bot
        # Telegram: 404 for a malformed token, 401 for a well-formed one it does not know.
        if TOKEN_PATTERN.fullmatch(token):
            raise ApiError(401, "Unauthorized")
        raise ApiError(404, "Not Found")

    async def call(self, bot: BotState, method: str, params: Params) -> Any:
        name, handler = self._methods.get(method.lower(), (method, None))
        if handler is None:
            raise ApiError(404, "Not Found")  # Telegram's answer to an unknown method
        entry: JSON = {"at": time.time(), "bot": bot.user["username"], "method": name}
        entry["params"] = params.values
        self.requests.append(entry)
        self.stats.requests += 1
        self.stats.per_method[name] += 1
        try:
            await self._apply_fault(name, params)
            result = await handler(bot, params)
        except ApiError as error:
            entry["status"] = error.code
            if error.code == 429:
                self.stats.answered_429 += 1
            raise
        entry["status"] = 200
        return result

    async def _apply_fault(self, method: str, params: Params) -> None:
        chat = chat_key(params.values.get("chat_id"))
        fault = next((f for f in self.faults if f.matches(method, chat)), None)
        if fault is None:
            return
        if fault.after > 0:
            fault.after -= 1
            return
        fault.count -= 1
        if fault.count == 0:
            self.faults.remove(fault)
        self.stats.faults_triggered += 1
        if fault.kind == "timeout":
            # Held past the client's timeout; then carried out (the client never hears of it)
            # or dropped, as configured.
            closing = await self._pause(fault.delay)
            if closing or not fault.process:
                raise GatewayError(504, "Gateway Time-out")
            return
        if fault.kind == "chat_migrated":
            target = fault.migration_target(chat)
            if target not in self.rooms:
                self.register_chat(Chat(target, "supergroup", title=f"Supergroup {target}"))
        raise fault.error(chat)

    # Control API views.

    def faults_json(self) -> list[JSON]:
        return [asdict(f) for f in self.faults]

    def chats_json(self) -> list[JSON]:
        return [
            {**room.chat.summary(), "messages_sent": len(room.sent())}
            for room in self.rooms.values()
        ]
