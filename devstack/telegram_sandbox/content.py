"""A message's content, checked as Telegram checks it: text, entities, inline keyboard."""

from __future__ import annotations

import itertools
import re
from typing import Any

from devstack.telegram_sandbox.errors import bad_request
from devstack.telegram_sandbox.html_mode import parse_html, utf16_length
from devstack.telegram_sandbox.params import Params
from devstack.telegram_sandbox.wire import JSON

# Bot API: "Text of the message to be sent, 1-4096 characters after entities parsing".
# The count is in Unicode code points, not in the UTF-16 units entity offsets use.
MAX_TEXT_LENGTH = 4096


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
