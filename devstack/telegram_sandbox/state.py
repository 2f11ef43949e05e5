"""Chats, the messages in them, and bots with their updates, webhook and flood limits."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from channels.telegram.limits import RateLimiter
from devstack.telegram_sandbox.errors import ControlError
from devstack.telegram_sandbox.wire import JSON

# Supergroup and channel identifiers are -100 followed by ten or more digits.
SUPERGROUP_ID_LIMIT = -1_000_000_000_000
CHAT_TYPES = ("private", "group", "supergroup", "channel")


def chat_type_for(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= SUPERGROUP_ID_LIMIT else "group"


@dataclass
class Chat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    language_code: str | None = None

    @classmethod
    def default(cls, chat_id: int) -> Chat:
        kind = chat_type_for(chat_id)
        if kind == "private":
            return cls(chat_id, kind, first_name=f"User {chat_id}")
        return cls(chat_id, kind, title=f"{kind.title()} {chat_id}")

    @classmethod
    def from_json(cls, data: JSON) -> Chat:
        chat_id = data.get("id")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool) or chat_id == 0:
            raise ControlError("a chat needs a non-zero integer id")
        kind = data.get("type") or chat_type_for(chat_id)
        if kind not in CHAT_TYPES:
            raise ControlError(f"type must be one of {', '.join(CHAT_TYPES)}")
        if (kind == "private") != (chat_id > 0):
            raise ControlError("private chats have positive ids, groups and channels negative ones")
        names = {k: data.get(k) for k in ("title", "first_name", "last_name", "language_code")}
        username = str(data["username"]).removeprefix("@") if data.get("username") else None
        chat = cls(chat_id, kind, username=username, **names)
        if kind == "private":
            chat.first_name = chat.first_name or f"User {chat_id}"
        else:
            chat.title = chat.title or f"{kind.title()} {chat_id}"
        return chat

    @property
    def is_group(self) -> bool:
        """Groups, supergroups and channels share Telegram's 20 messages a minute."""
        return self.type != "private"

    @property
    def name(self) -> str:
        person = " ".join(filter(None, (self.first_name, self.last_name)))
        return self.title or person or str(self.id)

    def summary(self) -> JSON:
        """The Chat object inside a Message."""
        fields = {
            "id": self.id,
            "title": self.title,
            "username": self.username,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "type": self.type,
        }
        return {k: v for k, v in fields.items() if v is not None}

    def full_info(self) -> JSON:
        """getChat's ChatFullInfo; its last three fields are required by the Bot API."""
        gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            False,
        )
        return {
            **self.summary(),
            "accent_color_id": abs(self.id) % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    def user(self) -> JSON:
        """The person of a private chat, as a User object."""
        fields = {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name or f"User {self.id}",
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
        }
        return {k: v for k, v in fields.items() if v is not None}


@dataclass
class StoredMessage:
    message: JSON
    outgoing: bool
    bot: str | None = None
    parse_mode: str | None = None
    source_text: str | None = None
    deleted: bool = False
    edits: int = 0

    def as_json(self) -> JSON:
        return asdict(self)


@dataclass
class ChatRoom:
    """A chat and every message in it; message ids count up per chat as on Telegram."""

    chat: Chat
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    last_message_id: int = 0

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    def sent(self) -> list[StoredMessage]:
        return [m for m in self.messages.values() if m.outgoing]


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


class BotState:
    """One bot token: its identity, pending updates, webhook, commands and flood limits."""

    def __init__(self, token: str, clock: Callable[[], float]) -> None:
        bot_id = int(token.split(":", 1)[0])
        self.token = token
        self.user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Sandbox Bot",
            "username": f"sandbox_{bot_id}_bot",
        }
        self.changed = asyncio.Condition()
        self.poll_generation = 0
        # Update ids only ever grow, even across a reset: a client keeps its offset.
        self.update_ids = itertools.count(1)
        self._clock = clock
        self.clear()

    def clear(self) -> None:
        """Forget pending updates, the webhook, commands, open queries and the limits' past."""
        self.limiter = RateLimiter(clock=self._clock)
        self.updates: list[JSON] = []
        self.webhook: Webhook | None = None
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.open_queries: dict[str, int] = {}  # callback query id -> chat id

    def me(self) -> JSON:
        return {
            **self.user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
