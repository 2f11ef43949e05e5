"""Telegram's HTML subset: Markdown bodies converted to it, and long messages split safely. Pure."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Telegram rejects text over 4096 characters, counted after entities are parsed (sendMessage).
MAX_MESSAGE_CHARS = 4096
TAG = re.compile(r"<[^>]+>")
_md = MarkdownIt("commonmark", {"html": False})
INLINE_TAGS = {"strong": "b", "em": "i", "s": "s"}


def markdown_to_telegram(markdown: str) -> str:
    """Blocks become paragraphs separated by blank lines; no tag ever spans two paragraphs."""
    blocks: list[str] = []
    prefix = ""
    for token in _md.parse(markdown):
        if token.type == "bullet_list_open":
            prefix = "• "
        elif token.type == "ordered_list_open":
            prefix = "‣ "
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            prefix = ""
        elif token.type == "inline":
            text = _inline(token.children or [])
            heading = blocks and blocks[-1] == "\x00heading"
            if heading:
                blocks.pop()
                text = f"<b>{text}</b>"
            blocks.append(prefix + text)
        elif token.type == "heading_open":
            blocks.append("\x00heading")
        elif token.type in ("fence", "code_block"):
            blocks.append(f"<pre>{html.escape(token.content.rstrip(), quote=False)}</pre>")
    return _join(blocks)


def _join(blocks: list[str]) -> str:
    # List items stay on consecutive lines; other blocks get a blank line between them.
    out: list[str] = []
    for block in blocks:
        if out and block.startswith(("• ", "‣ ")) and out[-1].startswith(("• ", "‣ ")):
            out[-1] += "\n" + block
        else:
            out.append(block)
    return "\n\n".join(out)


def _inline(children: list[Token]) -> str:
    parts: list[str] = []
    links: list[bool] = []  # for each open link: was it kept (an absolute http(s)/mailto URL)?
    for child in children:
        kind = child.type
        if kind == "text":
            parts.append(html.escape(child.content, quote=False))
        elif kind in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif kind == "code_inline":
            parts.append(f"<code>{html.escape(child.content, quote=False)}</code>")
        elif kind.endswith("_open") and kind[:-5] in INLINE_TAGS:
            parts.append(f"<{INLINE_TAGS[kind[:-5]]}>")
        elif kind.endswith("_close") and kind[:-6] in INLINE_TAGS:
            parts.append(f"</{INLINE_TAGS[kind[:-6]]}>")
        elif kind == "link_open":
            href = str(child.attrs.get("href", ""))
            links.append(href.startswith(("http://", "https://", "mailto:")))
            if links[-1]:
                parts.append(f'<a href="{html.escape(href)}">')
        elif kind == "link_close" and links.pop():
            parts.append("</a>")
    return "".join(parts)


def visible_length(message: str) -> int:
    """Characters Telegram counts: the text without tags, entities decoded."""
    return len(html.unescape(TAG.sub("", message)))


def split_message(message: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split a message too long for one Telegram message into parts that each parse on their own.

    Telegram refuses a part whose tags do not balance ("can't parse entities"), so a cut never
    leaves a tag open: cuts go, in order of preference, at a blank line outside every tag, at a
    blank line inside one (a long <pre> block), at a line break, at a space, anywhere; a tag open
    across a cut is closed at the end of one part and opened again at the start of the next.
    """
    if visible_length(message) <= limit:
        return [message] if message else []
    tokens = _tokens(message)
    stacks = _open_tags(tokens)  # the tags open before each token
    parts: list[str] = []
    start = 0
    while start < len(tokens):
        end, seen = start, 0
        while end < len(tokens) and seen + tokens[end].width <= limit:
            seen += tokens[end].width
            end += 1
        if end == len(tokens):
            cut, resume = end, end
        else:
            cut, resume = _best_cut(tokens, stacks, start, end)
        part = (
            "".join(opening for _name, opening in stacks[start])
            + "".join(t.html for t in tokens[start:cut])
            + "".join(f"</{name}>" for name, _opening in reversed(stacks[cut]))
        )
        if html.unescape(TAG.sub("", part)).strip():  # Telegram refuses an empty message
            parts.append(part)
        start = resume
        while start < len(tokens) and tokens[start].html == "\n":  # no part starts blank
            start += 1
    return parts


@dataclass(frozen=True, slots=True)
class _Token:
    html: str  # as written: a tag, a character reference, or one character
    width: int  # visible characters: 0 for a tag, 1 otherwise
    tag: str = ""  # the tag's name, "/name" for an end tag


_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>|&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);|.", re.DOTALL
)


def _tokens(message: str) -> list[_Token]:
    out: list[_Token] = []
    for match in _TOKEN.finditer(message):
        if match.group(2):
            out.append(_Token(match.group(0), 0, match.group(1) + match.group(2).lower()))
        else:
            out.append(_Token(match.group(0), 1))
    return out


def _open_tags(tokens: list[_Token]) -> list[tuple[tuple[str, str], ...]]:
    """For each token index (and the end), the (name, opening tag) pairs open before it."""
    stacks: list[tuple[tuple[str, str], ...]] = []
    stack: list[tuple[str, str]] = []
    for token in tokens:
        stacks.append(tuple(stack))
        if token.tag.startswith("/"):
            name = token.tag[1:]
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == name:
                    del stack[i]
                    break
        elif token.tag:
            stack.append((token.tag, token.html))
    stacks.append(tuple(stack))
    return stacks


def _best_cut(
    tokens: list[_Token], stacks: list[tuple[tuple[str, str], ...]], start: int, end: int
) -> tuple[int, int]:
    """Where to end the part that may hold tokens[start:end], and where the next one starts."""
    best: tuple[int, int, int] | None = None  # (rank, cut, resume)
    for i in range(end - 1, start, -1):
        text = tokens[i].html
        if text == "\n" and tokens[i - 1].html == "\n" and i - 1 > start:
            rank, cut, resume = (4 if not stacks[i - 1] else 3), i - 1, i + 1
        elif text == "\n":
            rank, cut, resume = 2, i, i + 1
        elif text == " ":
            rank, cut, resume = 1, i, i + 1
        else:
            continue
        if best is None or rank > best[0]:
            best = (rank, cut, resume)
            if rank == 4:
                break  # the latest blank line outside every tag: nothing is better
    if best is None:
        return end, end  # one unbroken word longer than a message: cut it where it must be
    return best[1], best[2]
