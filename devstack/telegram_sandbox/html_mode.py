"""Telegram's parse_mode=HTML: the plain text and its MessageEntity list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from devstack.telegram_sandbox.errors import bad_request
from devstack.telegram_sandbox.wire import JSON

# Telegram's HTML subset: https://core.telegram.org/bots/api#html-style
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
