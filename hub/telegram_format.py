"""Telegram's HTML subset: Markdown bodies converted to it, and long messages split safely. Pure."""

from __future__ import annotations

import html
import re

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
    """Split at paragraph boundaries (where no tag is open); a paragraph too long on its own is
    cut at spaces as plain text."""
    chunks: list[str] = []
    current = ""
    for paragraph in message.split("\n\n"):
        pieces = [paragraph] if visible_length(paragraph) <= limit else _cut(paragraph, limit)
        for piece in pieces:
            candidate = f"{current}\n\n{piece}" if current else piece
            if visible_length(candidate) <= limit:
                current = candidate
            else:
                chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks


def _cut(paragraph: str, limit: int) -> list[str]:
    text = html.unescape(TAG.sub("", paragraph))
    pieces: list[str] = []
    while len(text) > limit:
        at = text.rfind(" ", 0, limit)
        at = at if at > 0 else limit
        pieces.append(html.escape(text[:at], quote=False))
        text = text[at:].lstrip()
    pieces.append(html.escape(text, quote=False))
    return pieces
