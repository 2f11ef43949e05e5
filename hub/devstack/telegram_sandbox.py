"""A local Telegram Bot API server: the methods the hub uses, with Telegram's errors and limits."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import html
import ipaddress
import itertools
import json
import logging
import re
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientConnectorError, ClientError, ClientSession, ClientTimeout, web
from aiohttp.web_request import FileField

from hub.settings import REPO_ROOT
from hub.telegram_limits import RateLimiter

JSON = dict[str, Any]

DEFAULT_PORT = 8081
DEFAULT_TOKEN = "123456789:sandbox-token-for-local-development"  # noqa: S105 (not a secret)
DEFAULT_RECORD_DIR = REPO_ROOT / "var" / "outbox" / "telegram"
# Bot API: "Text of the message to be sent, 1-4096 characters after entities parsing".
# The count is in Unicode code points, not in the UTF-16 units entity offsets use.
MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_ANSWER_LENGTH = 200
TOKEN_PATTERN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
SECRET_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
COMMAND_PATTERN = re.compile(r"[a-z0-9_]+")
# Supergroup and channel identifiers are -100 followed by ten or more digits.
SUPERGROUP_ID_LIMIT = -1_000_000_000_000
CHAT_TYPES = ("private", "group", "supergroup", "channel")
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
DEFAULT_USER: JSON = {
    "id": 700000001,
    "is_bot": False,
    "first_name": "Sandbox",
    "language_code": "en",
}
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"

log = logging.getLogger(__name__)
_dumps = functools.partial(json.dumps, ensure_ascii=False)


# --- Errors, shaped as Telegram's {"ok": false, ...} answers ------------------------------------


class ApiError(Exception):
    """An answer with ok=false: error_code, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def response(self) -> web.Response:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.code, dumps=_dumps)


class GatewayError(ApiError):
    """A failure in the proxy in front of the Bot API: nginx's HTML page, not JSON."""

    def response(self) -> web.Response:
        title = f"{self.code} {self.description}"
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        )
        return web.Response(status=self.code, text=page, content_type="text/html")


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    # Telegram: 429 "Too Many Requests: retry after N", parameters.retry_after = N (seconds).
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


class ControlError(Exception):
    """A mistake in a call to the sandbox's own control API."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Described:
    """A successful result that Telegram sends with a description, as setWebhook does."""

    result: Any
    description: str


# --- Parameters: JSON bodies keep their types, form values are strings -------------------------


def chat_key(value: Any) -> int | str | None:
    """A chat_id as sent: an integer identifier, or a lower-cased @username."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return text.lower() if text.startswith("@") else None


class Params:
    """A request's parameters. Nested objects (reply_markup, commands...) may be JSON text."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def string(self, name: str, *, missing: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None
        return value if isinstance(value, str) else _dumps(value)

    def integer(self, name: str, *, missing: str | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def number(self, name: str) -> float:
        try:
            return float(self.values.get(name) or 0)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def structure(self, name: str, *, what: str | None = None) -> Any:
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what or name} JSON object") from None

    def chat(self) -> int | str:
        if self.values.get("chat_id") in (None, ""):
            raise bad_request("chat_id is empty")
        key = chat_key(self.values["chat_id"])
        if key is None:
            raise bad_request("chat not found")
        return key


# --- Telegram's HTML subset (https://core.telegram.org/bots/api#html-style) ----------------------
# The parser follows TDLib's parse_html (td/telegram/MessageEntity.cpp), whose error texts the
# Bot API returns after "Bad Request: can't parse entities: ". Offsets in errors are UTF-8 byte
# offsets into the text as sent; entity offsets and lengths count UTF-16 code units.

_TAG_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
# Only these named references are understood; any other "&" stays as written.
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_REFERENCE = re.compile(r"&(?:#x([0-9A-Fa-f]+)|#([0-9]+)|([A-Za-z]+));?")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.-]*")
_SPACES = " \t\r\n\v\f"


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _character_reference(match: re.Match[str]) -> str | None:
    hex_digits, digits, name = match.groups()
    if name is not None:
        return _NAMED_REFERENCES.get(name)
    if len(match.group(0).rstrip(";")) >= 10:
        return None
    code = int(hex_digits, 16) if hex_digits else int(digits)
    if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _tag_argument(tag: str, attribute: str, value: str) -> str | None:
    """What an attribute means to Telegram: a link, a code language, the spoiler class."""
    if tag == "a" and attribute == "href":
        return value
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    return None


def _link(url: str) -> str | None:
    """The URL of an <a> tag as Telegram keeps it; a link without a scheme gets http://."""
    url = url.strip()
    if not url:
        return None
    if "://" not in url and not url.startswith(("tg:", "mailto:")):
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and not parts.hostname:
        return None  # Telegram silently drops a link it cannot parse
    return url


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset of the entity in the parsed text
    piece: int  # index of the entity's first piece of parsed text


class HtmlParser:
    """Telegram's parse_mode=HTML: the plain text and its MessageEntity list, or ApiError 400."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.pieces: list[str] = []
        self.offset = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[JSON] = []

    def parse(self) -> tuple[str, list[JSON]]:
        while self.pos < len(self.source):
            if self.source.startswith("</", self.pos):
                self._end_tag()
            elif self.source[self.pos] == "<":
                self._start_tag()
            else:
                self._append(self._character())
        if self.stack:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        return "".join(self.pieces), self._finished_entities()

    def _fail(self, reason: str) -> None:
        raise bad_request(f"can't parse entities: {reason}")

    def _byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode())

    def _peek(self) -> str:
        return self.source[self.pos] if self.pos < len(self.source) else ""

    def _skip_spaces(self) -> None:
        while self._peek() and self._peek() in _SPACES:
            self.pos += 1

    def _scan_name(self, start: int) -> int:
        end = start
        while end < len(self.source) and self.source[end] not in _SPACES + ">":
            end += 1
        return end

    def _character(self) -> str:
        """One character of text, with a character reference such as &lt; decoded."""
        if self.source[self.pos] == "&":
            match = _REFERENCE.match(self.source, self.pos)
            decoded = _character_reference(match) if match else None
            if match and decoded is not None:
                self.pos = match.end()
                return decoded
        self.pos += 1
        return self.source[self.pos - 1]

    def _append(self, character: str) -> None:
        self.pieces.append(character)
        self.offset += 2 if ord(character) > 0xFFFF else 1

    def _start_tag(self) -> None:
        begin = self.pos
        end = self._scan_name(begin + 1)
        if end >= len(self.source):
            self._fail(f"Unclosed start tag at byte offset {self._byte_offset(begin)}")
        name = self.source[begin + 1 : end].lower()
        if name not in _TAG_ENTITIES:
            self._fail(f'Unsupported start tag "{name}" at byte offset {self._byte_offset(begin)}')
        self.pos = end
        argument = self._attributes(name, begin)
        if name == "span" and argument != "spoiler":
            at = self._byte_offset(begin)
            self._fail(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        self.stack.append(_OpenTag(name, argument, self.offset, len(self.pieces)))

    def _attributes(self, tag: str, begin: int) -> str:
        argument = ""
        at = self._byte_offset(begin)
        while True:
            self._skip_spaces()
            if not self._peek():
                self._fail(f"Unclosed start tag at byte offset {at}")
            if self._peek() == ">":
                self.pos += 1
                return argument
            start = self.pos
            while self._peek() and self._peek() not in _SPACES + "=>":
                self.pos += 1
            attribute = self.source[start : self.pos].lower()
            if not attribute:
                self._fail(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
            self._skip_spaces()
            if self._peek() != "=":
                if tag == "blockquote" and attribute == "expandable":
                    argument = "expandable"
                    continue
                self._fail(
                    f"Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {at}'
                )
            self.pos += 1
            self._skip_spaces()
            if not self._peek():
                self._fail(f"Unclosed start tag at byte offset {at}")
            argument = _tag_argument(tag, attribute, self._attribute_value()) or argument

    def _attribute_value(self) -> str:
        quote = self._peek()
        if quote in ("'", '"'):
            self.pos += 1
            characters = []
            while self._peek() and self._peek() != quote:
                characters.append(self._character())
            self.pos += 1
            return "".join(characters)
        # An unquoted name token: letters, digits, periods and hyphens, not case sensitive.
        match = _NAME_TOKEN.match(self.source, self.pos)
        assert match is not None  # the pattern matches the empty string
        self.pos = match.end()
        if self._peek() and self._peek() not in _SPACES + ">":
            self._fail(f"Unexpected end of name token at byte offset {self._byte_offset(self.pos)}")
        return match.group(0).lower()

    def _end_tag(self) -> None:
        begin = self.pos
        at = self._byte_offset(begin)
        if not self.stack:
            self._fail(f"Unexpected end tag at byte offset {at}")
        end = self._scan_name(begin + 2)
        name = self.source[begin + 2 : end].lower()
        self.pos = end
        self._skip_spaces()
        if self._peek() != ">":
            self._fail(f"Unclosed end tag at byte offset {at}")
        self.pos += 1
        tag = self.stack.pop()
        if name and name != tag.name:
            expected, found = f"</{tag.name}>", f"</{name}>"
            self._fail(
                f'Unmatched end tag at byte offset {at}, expected "{expected}", found "{found}"'
            )
        self._close(tag)

    def _close(self, tag: _OpenTag) -> None:
        length = self.offset - tag.offset
        if length == 0:
            return  # Telegram keeps no empty entities
        entity: JSON = {"type": _TAG_ENTITIES[tag.name], "offset": tag.offset, "length": length}
        if tag.name == "a":
            url = _link(tag.argument or "".join(self.pieces[tag.piece :]))
            if url is None:
                return
            entity["url"] = url
        elif tag.name == "code" and tag.argument:
            entity["language"] = tag.argument
        elif tag.name == "pre":
            entity = self._pre_with_language(entity)
        elif tag.name == "blockquote" and tag.argument:
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)

    def _pre_with_language(self, pre: JSON) -> JSON:
        """<pre><code class="language-x">...</code></pre> is one pre entity with language x."""
        last = self.entities[-1] if self.entities else None
        if (
            last is not None
            and last["type"] == "code"
            and "language" in last
            and (last["offset"], last["length"]) == (pre["offset"], pre["length"])
        ):
            self.entities.pop()
            return {**pre, "language": last["language"]}
        return pre

    def _finished_entities(self) -> list[JSON]:
        """By offset, longer first; of two on the same text, the outer tag first."""
        # Entities were appended as their tags closed, so the outer one came later.
        ordered = sorted(
            enumerate(self.entities), key=lambda p: (p[1]["offset"], -p[1]["length"], -p[0])
        )
        # A language only means something on <pre>; a lone <code class="language-x"> drops it.
        return [
            {k: v for k, v in e.items() if k != "language" or e["type"] == "pre"}
            for _, e in ordered
        ]


def parse_html(source: str) -> tuple[str, list[JSON]]:
    return HtmlParser(source).parse()


def _trimmed(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram drops whitespace around a message text; entities move and shrink with it."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_length(text[: len(text) - len(text.lstrip())])
    limit = utf16_length(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def message_text(params: Params) -> tuple[str, list[JSON]]:
    """The text and entities of sendMessage / editMessageText, validated as Telegram does."""
    source = params.string("text", missing="message text is empty") or ""
    mode = (params.string("parse_mode") or "").lower()
    if mode == "html":
        text, entities = parse_html(source)
    elif mode == "":
        text, entities = source, _explicit_entities(params)
    elif mode in ("markdown", "markdownv2"):
        text, entities = source, []  # not parsed here: the text is kept exactly as sent
    else:
        raise bad_request("unsupported parse_mode")
    text, entities = _trimmed(text, entities)
    if not text:
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return text, entities


def _explicit_entities(params: Params) -> list[JSON]:
    entities = params.structure("entities", what="entities") or []
    if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
        raise bad_request("can't parse entities JSON object")
    return sorted(entities, key=lambda e: (e.get("offset", 0), -e.get("length", 0)))


def inline_keyboard(params: Params) -> JSON | None:
    """The reply_markup a Message shows: only inline keyboards are echoed back by Telegram."""
    markup = params.structure("reply_markup", what="reply keyboard markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    for button in itertools.chain.from_iterable(rows):
        _check_button(button)
    return {"inline_keyboard": rows}


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    data = button.get("callback_data")
    # Bot API: callback_data is "1-64 bytes".
    if data is not None and not 1 <= len(str(data).encode()) <= 64:
        raise bad_request("BUTTON_DATA_INVALID")


# Telegram recognises /command and /command@botname where a word starts.
_BOT_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")


def bot_command_entities(text: str) -> list[JSON]:
    return [
        {
            "type": "bot_command",
            "offset": utf16_length(text[: match.start()]),
            "length": utf16_length(match.group(0)),
        }
        for match in _BOT_COMMAND.finditer(text)
    ]


# --- Chats, messages, bots ---------------------------------------------------------------------


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


# --- Faults injected through the control API ----------------------------------------------------

_FIXED_FAULTS: dict[str, tuple[int, str]] = {
    "bot_blocked": (403, "Forbidden: bot was blocked by the user"),
    "user_deactivated": (403, "Forbidden: user is deactivated"),
    "bot_kicked": (403, "Forbidden: bot was kicked from the group chat"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "internal_error": (500, "Internal Server Error"),
}
FAULT_KINDS = (*_FIXED_FAULTS, "too_many_requests", "chat_migrated", "bad_gateway", "timeout")


@dataclass
class Fault:
    """The next `count` requests matching method and chat fail as `kind` says."""

    kind: str
    count: int = 1
    method: str | None = None
    chat_id: int | str | None = None
    retry_after: int = 5
    migrate_to_chat_id: int | None = None
    delay: float = 10.0  # timeout: how long the request is held
    process: bool = True  # timeout: whether the held request is then carried out

    @classmethod
    def from_json(cls, data: JSON) -> Fault:
        kind = data.get("kind")
        if kind not in FAULT_KINDS:
            raise ControlError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        try:
            fault = cls(
                kind=kind,
                count=int(data.get("count", 1)),
                method=str(data["method"]).lower() if data.get("method") else None,
                chat_id=chat_key(data.get("chat_id")),
                retry_after=max(1, int(data.get("retry_after", 5))),
                migrate_to_chat_id=_optional_int(data.get("migrate_to_chat_id")),
                delay=float(data.get("delay", 10.0)),
                process=bool(data.get("process", True)),
            )
        except (TypeError, ValueError) as error:
            raise ControlError(f"invalid fault: {error}") from None
        if fault.count < 1:
            raise ControlError("count must be at least 1")
        return fault

    def matches(self, method: str, chat: int | str | None) -> bool:
        return (
            self.count > 0
            and self.method in (None, method.lower())
            and (self.chat_id is None or self.chat_id == chat)
        )

    def error(self, chat: int | str | None) -> ApiError:
        if self.kind in _FIXED_FAULTS:
            return ApiError(*_FIXED_FAULTS[self.kind])
        if self.kind == "too_many_requests":
            return too_many_requests(self.retry_after)
        if self.kind == "chat_migrated":
            return ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migration_target(chat)},
            )
        return GatewayError(502, "Bad Gateway")

    def migration_target(self, chat: int | str | None) -> int:
        if self.migrate_to_chat_id is not None:
            return self.migrate_to_chat_id
        return int(f"-100{abs(chat)}") if isinstance(chat, int) else -1001000000001


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


# --- Statistics and the record on disk ----------------------------------------------------------


@dataclass
class Stats:
    requests: int = 0
    per_method: Counter[str] = field(default_factory=Counter)
    messages_sent: int = 0
    per_chat: Counter[int] = field(default_factory=Counter)
    answered_429: int = 0
    rate_limit_violations: int = 0
    violations_per_limit: Counter[str] = field(default_factory=Counter)
    faults_triggered: int = 0
    updates_injected: int = 0

    def as_json(self) -> JSON:
        # Built by hand: dataclasses.asdict would rebuild each Counter from its items.
        return {
            "requests": self.requests,
            "per_method": dict(self.per_method),
            "messages_sent": self.messages_sent,
            "per_chat": {str(chat): count for chat, count in self.per_chat.items()},
            "answered_429": self.answered_429,
            "rate_limit_violations": self.rate_limit_violations,
            "violations_per_limit": dict(self.violations_per_limit),
            "faults_triggered": self.faults_triggered,
            "updates_injected": self.updates_injected,
        }


class Recorder:
    """Appends what the bots did to <directory>/<chat_id>.jsonl, one JSON object a line."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def append(self, chat_id: int, event: str, **fields: Any) -> None:
        if self.directory is None:
            return
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        record = {"recorded_at": now, "event": event, "chat_id": chat_id, **fields}
        with (self.directory / f"{chat_id}.jsonl").open("a", encoding="utf-8") as file:
            file.write(_dumps(record) + "\n")


# --- The sandbox --------------------------------------------------------------------------------

Method = Callable[[BotState, Params], Awaitable[Any]]


class TelegramSandbox:
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
        self.bots = {token: BotState(token, clock) for token in self.tokens}
        self._clear()

    def _clear(self) -> None:
        self.rooms: dict[int, ChatRoom] = {}
        self.faults: list[Fault] = []
        self.stats = Stats()
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

    # Updates: long polling and webhooks.

    async def get_updates(self, bot: BotState, params: Params) -> list[JSON]:
        self._refuse_polling_with_webhook(bot)
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout"), 0.0)
        _confirm_updates(bot, offset)
        bot.poll_generation += 1
        generation = bot.poll_generation
        await self._wake(bot)  # a newer getUpdates ends the one still waiting, as on Telegram
        if not bot.updates and timeout:
            await self._wait(bot, timeout, lambda: bool(bot.updates) or bot.webhook is not None)
        if bot.poll_generation != generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        self._refuse_polling_with_webhook(bot)
        return bot.updates[:limit]

    @staticmethod
    def _refuse_polling_with_webhook(bot: BotState) -> None:
        if bot.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )

    async def _wait(self, bot: BotState, seconds: float, ready: Callable[[], bool]) -> None:
        """Sleep on the bot's condition until `ready`, a newer poll, shutdown or the timeout."""
        generation = bot.poll_generation

        def done() -> bool:
            return ready() or bot.poll_generation != generation or self._closing.is_set()

        async with bot.changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bot.changed.wait_for(done), seconds)

    async def set_webhook(self, bot: BotState, params: Params) -> Described:
        url = params.string("url") or ""
        if not url:
            return await self.delete_webhook(bot, params)
        _check_webhook_url(url)
        secret = params.string("secret_token")
        if secret is not None and not SECRET_TOKEN_PATTERN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.structure("allowed_updates", what="allowed updates")
        unchanged = bot.webhook is not None and bot.webhook.url == url
        if params.flag("drop_pending_updates"):
            bot.updates.clear()
        self._stop_webhook(bot)
        max_connections = min(max(params.integer("max_connections") or 40, 1), 100)
        hook = Webhook(url, secret, max_connections, allowed)
        bot.webhook = hook
        self._deliveries[bot.token] = asyncio.get_running_loop().create_task(
            self._deliver(bot, hook), name=f"webhook delivery for @{bot.user['username']}"
        )
        await self._wake(bot)  # a waiting getUpdates now answers 409
        return Described(True, "Webhook is already set" if unchanged else "Webhook was set")

    async def delete_webhook(self, bot: BotState, params: Params) -> Described:
        had = bot.webhook is not None
        self._stop_webhook(bot)
        if params.flag("drop_pending_updates"):
            bot.updates.clear()
        return Described(True, "Webhook was deleted" if had else "Webhook is already deleted")

    async def get_webhook_info(self, bot: BotState, _params: Params) -> JSON:
        hook = bot.webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }
        if hook is not None:
            info.update(ip_address="127.0.0.1", max_connections=hook.max_connections)
            extra = {
                "allowed_updates": hook.allowed_updates,
                "last_error_date": hook.last_error_date,
                "last_error_message": hook.last_error_message,
            }
            info.update({k: v for k, v in extra.items() if v is not None})
        return info

    def _stop_webhook(self, bot: BotState) -> None:
        bot.webhook = None
        task = self._deliveries.pop(bot.token, None)
        if task is not None:
            task.cancel()

    async def _deliver(self, bot: BotState, hook: Webhook) -> None:
        """POST pending updates to the webhook in order, retrying with growing pauses."""
        failures = 0
        while True:
            async with bot.changed:
                await bot.changed.wait_for(
                    lambda: bool(bot.updates) or bot.webhook is not hook or self._closing.is_set()
                )
            if bot.webhook is not hook or self._closing.is_set():
                return
            update = bot.updates[0]
            error = await self._post_update(hook, update)
            if error is None:
                failures = 0
                if bot.updates and bot.updates[0] is update:
                    bot.updates.pop(0)
                continue
            hook.last_error_date, hook.last_error_message = int(time.time()), error
            log.info("webhook %s: %s", hook.url, error)
            failures += 1
            if await self._pause(min(2.0**failures, 60.0)):
                return

    async def _post_update(self, hook: Webhook, update: JSON) -> str | None:
        """Deliver one update; None on a 2xx answer, else Telegram's last_error_message."""
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=10))
        try:
            async with self._session.post(hook.url, data=_dumps(update), headers=headers) as answer:
                if 200 <= answer.status < 300:
                    return None
                return f"Wrong response from the webhook: {answer.status} {answer.reason}"
        except ClientConnectorError:
            return "Connection refused"
        except TimeoutError:
            return "Read timeout expired"
        except ClientError as error:
            return f"Connection failed: {error}"

    # Updates injected through the control API.

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

    # Control API views.

    def faults_json(self) -> list[JSON]:
        return [asdict(f) for f in self.faults]

    def chats_json(self) -> list[JSON]:
        return [
            {**room.chat.summary(), "messages_sent": len(room.sent())}
            for room in self.rooms.values()
        ]


def _content(message: JSON) -> tuple[str, list[JSON], JSON | None]:
    return message["text"], message.get("entities", []), message.get("reply_markup")


def _record_fields(stored: StoredMessage) -> JSON:
    return {
        "bot": stored.bot,
        "parse_mode": stored.parse_mode,
        "source_text": stored.source_text,
        "message": stored.message,
    }


def _confirm_updates(bot: BotState, offset: int) -> None:
    """Telegram forgets updates below a positive offset; -N keeps only the last N."""
    if offset > 0:
        bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
    elif offset < 0:
        bot.updates = bot.updates[offset:]


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


def _check_webhook_url(url: str) -> None:
    # Telegram wants HTTPS on port 443, 80, 88 or 8443; the sandbox takes any loopback URL
    # instead, so it never sends an update off this machine.
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: invalid webhook URL specified")
    if not _is_loopback(parts.hostname):
        raise bad_request("bad webhook: the sandbox only delivers to loopback addresses")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- HTTP ---------------------------------------------------------------------------------------


async def read_params(request: web.Request) -> Params:
    """Query string, then a JSON, url-encoded or multipart body, as the Bot API accepts."""
    values: dict[str, Any] = dict(request.query)
    if request.body_exists:
        values.update(await _read_body(request))
    return Params(values)


async def _read_body(request: web.Request) -> Mapping[str, Any]:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("can't parse JSON object")
        return body
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        # Uploaded files are not kept; a parameter that is a file keeps its file name.
        return {k: v.filename if isinstance(v, FileField) else v for k, v in form.items()}
    return {}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


async def _control_body(request: web.Request) -> JSON:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ControlError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


@web.middleware
async def _control_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ControlError as error:
        return _json({"error": str(error)}, status=error.status)


class Routes:
    """The Bot API under /bot<token>/<method>, the control API under /sandbox, pages under /."""

    def __init__(self, sandbox: TelegramSandbox) -> None:
        self.sandbox = sandbox

    async def api(self, request: web.Request) -> web.Response:
        try:
            bot = self.sandbox.bot(request.match_info["token"])
            params = await read_params(request)
            answer = await self.sandbox.call(bot, request.match_info["method"], params)
        except ApiError as error:
            return error.response()
        if isinstance(answer, Described):
            return _json({"ok": True, "result": answer.result, "description": answer.description})
        return _json({"ok": True, "result": answer})

    def _room(self, request: web.Request) -> ChatRoom:
        room = self.sandbox.find_room(chat_key(request.match_info["chat_id"]))
        if room is None:
            raise ControlError("no such chat", status=404)
        return room

    async def list_chats(self, _request: web.Request) -> web.Response:
        return _json({"chats": self.sandbox.chats_json()})

    async def add_chat(self, request: web.Request) -> web.Response:
        room = self.sandbox.register_chat(Chat.from_json(await _control_body(request)))
        return _json({"chat": room.chat.summary()}, status=201)

    async def chat_messages(self, request: web.Request) -> web.Response:
        room = self._room(request)
        everything = request.query.get("all") in ("1", "true")
        stored = room.messages.values() if everything else room.sent()
        messages = [m.as_json() for m in stored]
        return _json({"chat": room.chat.summary(), "messages": messages})

    async def stats(self, _request: web.Request) -> web.Response:
        return _json(self.sandbox.stats.as_json())

    async def requests(self, request: web.Request) -> web.Response:
        method = request.query.get("method", "").lower()
        entries = [e for e in self.sandbox.requests if not method or e["method"].lower() == method]
        return _json({"requests": entries})

    async def add_update(self, request: web.Request) -> web.Response:
        update = await self.sandbox.inject_update(await _control_body(request))
        return _json({"update": update}, status=201)

    async def list_faults(self, _request: web.Request) -> web.Response:
        return _json({"faults": self.sandbox.faults_json()})

    async def add_fault(self, request: web.Request) -> web.Response:
        fault = Fault.from_json(await _control_body(request))
        self.sandbox.faults.append(fault)
        return _json({"fault": asdict(fault)}, status=201)

    async def clear_faults(self, _request: web.Request) -> web.Response:
        self.sandbox.faults.clear()
        return _json({"faults": []})

    async def reset(self, _request: web.Request) -> web.Response:
        await self.sandbox.reset()
        return _json({"reset": True})

    async def index_page(self, _request: web.Request) -> web.Response:
        return _page("Telegram sandbox", render_index(self.sandbox))

    async def chat_page(self, request: web.Request) -> web.Response:
        room = self.sandbox.find_room(chat_key(request.match_info["chat_id"]))
        if room is None:
            raise web.HTTPNotFound(text="no such chat")
        return _page(f"Telegram sandbox: {room.chat.name}", render_chat(room))


def make_app(sandbox: TelegramSandbox) -> web.Application:
    routes = Routes(sandbox)
    app = web.Application(middlewares=[_control_errors])
    app.router.add_route("*", "/bot{token}/{method}", routes.api)
    app.router.add_get("/sandbox/chats", routes.list_chats)
    app.router.add_post("/sandbox/chats", routes.add_chat)
    app.router.add_get("/sandbox/chats/{chat_id}/messages", routes.chat_messages)
    app.router.add_get("/sandbox/stats", routes.stats)
    app.router.add_get("/sandbox/requests", routes.requests)
    app.router.add_post("/sandbox/updates", routes.add_update)
    app.router.add_get("/sandbox/faults", routes.list_faults)
    app.router.add_post("/sandbox/faults", routes.add_fault)
    app.router.add_delete("/sandbox/faults", routes.clear_faults)
    app.router.add_post("/sandbox/reset", routes.reset)
    app.router.add_get("/", routes.index_page)
    app.router.add_get("/chats/{chat_id}", routes.chat_page)
    app.on_startup.append(sandbox.on_startup)
    app.on_shutdown.append(sandbox.on_shutdown)
    app.on_cleanup.append(sandbox.on_cleanup)
    return app


@contextlib.asynccontextmanager
async def serve(
    sandbox: TelegramSandbox, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run the sandbox on host:port (0: a free port) and yield its base URL."""
    runner = web.AppRunner(make_app(sandbox), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield f"http://{host}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


# --- HTML pages: everything the hub sent is escaped before it reaches the page ------------------

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


# --- Command line -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--token",
        action="append",
        dest="tokens",
        help=f"a bot token to accept; repeat for several bots (default {DEFAULT_TOKEN})",
    )
    parser.add_argument("--record-dir", type=Path, default=DEFAULT_RECORD_DIR)
    parser.add_argument(
        "--strict-chats",
        action="store_true",
        help="answer 'chat not found' for chats not registered or written from",
    )
    parser.add_argument(
        "--no-enforce-limits",
        dest="enforce_limits",
        action="store_false",
        help="count rate-limit violations in /sandbox/stats without answering 429",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sandbox = TelegramSandbox(
        args.tokens or [DEFAULT_TOKEN],
        record_dir=args.record_dir,
        enforce_limits=args.enforce_limits,
        strict_chats=args.strict_chats,
    )
    base = f"http://{args.host}:{args.port}"
    for bot in sandbox.bots.values():
        print(f"bot @{bot.user['username']}: Bot(token, base_url='{base}/bot')")
    print(f"messages sent: {base}/ and {args.record_dir}")
    web.run_app(make_app(sandbox), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
