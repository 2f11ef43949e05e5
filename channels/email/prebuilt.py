"""Emails built once per (rendering, event, language) and patched per recipient, as wire bytes.

Building and flattening an EmailMessage costs milliseconds, most of it in the email package's
header parsing and folding; the same message to 100,000 people differs only in a few headers and
the two personal links. So the message is flattened once, as a skeleton whose personal headers and
part bodies are cut out, and each recipient's bytes are the skeleton's pieces with that
recipient's headers and encoded bodies put back: the same headers in the same order, the same
MIME tree and the same transfer encodings as build_message gives (tests compare the two).
Headers that are not plainly simple (a non-ASCII or quoted name, a long address) are folded by
the email package itself, one header at a time.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from markupsafe import escape

from channels.email.bodies import Body
from channels.email.mime import (
    POLICY,
    RFC5322_MAX_LINE,
    WIRE,
    WIRE_UTF8,
    assemble,
    build_message,
    header_text,
    list_unsubscribe,
    recipient_headers,
    wire_bytes,
)
from hub.model.deliveries import Delivery
from hub.rendering.environment import Rendered
from hub.rendering.links import link_marks

# Prebuilt messages kept: one per (rendering, event, language) being sent. A large fan-out uses
# a few; a stream of small events many, since each partition's sends may be dozens of events
# behind another's, and a message pushed out is built again for each partition.
CACHE_SIZE = 256

# What the email package folds to exactly "Name: value" (checked against it by the tests):
# plain ASCII words without RFC 5322 specials, and dot-atom addresses.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+( [A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*")
_ATOMS = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*"
_PLAIN_ADDRESS = re.compile(_ATOMS + r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")
_PLAIN_ID = re.compile(r"[A-Za-z0-9-]+")


@dataclass(frozen=True, slots=True)
class WireMessage:
    """One recipient's email, ready for SMTP."""

    data: bytes
    utf8: bool  # needs SMTPUTF8
    message_id: str


@dataclass(frozen=True, slots=True)
class _Skeleton:
    """The flattened message around the cut-out pieces, and its multipart boundary."""

    before_recipient: bytes  # Subject, From
    before_unsubscribe: bytes  # X-Hub-Event-Id (empty for a message without links)
    before_text: bytes  # the rest of the headers and the text part's own
    before_html: bytes
    after_html: bytes
    boundary: bytes


@dataclass(frozen=True, slots=True)
class _Shape:
    """A skeleton for every event of one language and kind: its Subject and X-Hub-Event-Id
    lines stand in for each event's own (each header is folded on its own, so putting a folded
    line in place of another gives the bytes flattening the event's message would)."""

    skeleton: _Skeleton
    subject_line: bytes
    event_line: bytes

    def filled(self, subject_line: bytes, event_line: bytes) -> _Skeleton:
        skeleton = self.skeleton
        before_recipient = _swap(skeleton.before_recipient, self.subject_line, subject_line)
        if skeleton.before_unsubscribe:
            before_unsubscribe = _swap(skeleton.before_unsubscribe, self.event_line, event_line)
            before_text = skeleton.before_text
        else:
            before_unsubscribe = b""
            before_text = _swap(skeleton.before_text, self.event_line, event_line)
        return _Skeleton(
            before_recipient,
            before_unsubscribe,
            before_text,
            skeleton.before_html,
            skeleton.after_html,
            skeleton.boundary,
        )


def _shape(
    sender: Address, utf8: bool, links: bool, encodings: tuple[str, str], language: str
) -> _Shape:
    """Flatten a message of this kind once, with random slots where each recipient's, each
    event's and each part's own bytes go (nothing in the content can forge them)."""
    slot = secrets.token_hex(16)
    subject, event_id = f"s{slot}", f"e{slot}"
    message = assemble(
        subject,
        sender,
        [(f"X-Hub-Slot-{slot}", "1")],
        event_id,
        slot if links else None,
        language,
        ("", ""),
        encodings,
    )
    text_part, html_part = _parts(message)
    text_part.set_payload(f"text-{slot}")
    html_part.set_payload(f"html-{slot}")
    raw = wire_bytes(message, utf8=utf8)
    boundary = str(message.get_boundary()).encode("ascii")
    head, rest = _cut(raw, f"X-Hub-Slot-{slot}: 1\r\n".encode())
    event_header = b""  # without links, it is simply the start of before_text
    if links:
        event_header, rest = _cut(rest, f"List-Unsubscribe: {slot}\r\n".encode())
    before_text, rest = _cut(rest, f"text-{slot}".encode())
    before_html, after_html = _cut(rest, f"html-{slot}".encode())
    skeleton = _Skeleton(head, event_header, before_text, before_html, after_html, boundary)
    return _Shape(
        skeleton, _fold("Subject", subject, utf8), _fold("X-Hub-Event-Id", event_id, utf8)
    )


# The shape of a message of one (sender, SMTPUTF8, links, transfer encodings, language).
ShapeOf = Callable[[Address, bool, bool, tuple[str, str], str], _Shape]


class Prebuilt:
    """One rendering of one event in one language, for every recipient."""

    def __init__(
        self, rendered: Rendered, event_id: str, language: str, shape_of: ShapeOf = _shape
    ) -> None:
        self.rendered = rendered
        self.event_id = event_id
        self.language = language
        self._shape_of = shape_of
        preferences, unsubscribe = link_marks(rendered.nonce)
        self.marks = (preferences.encode(), unsubscribe.encode())
        self.text = Body(rendered.text, self.marks, POLICY)
        self.html = Body(rendered.html, self.marks, POLICY)
        self._skeletons: dict[tuple[bool, bool, str, str], _Skeleton] = {}

    def skeleton(
        self, sender: Address, utf8: bool, links: bool, encodings: tuple[str, str]
    ) -> _Skeleton:
        key = (utf8, links, *encodings)
        if key not in self._skeletons:
            shape = self._shape_of(sender, utf8, links, encodings, self.language)
            skeleton = shape.filled(
                _fold("Subject", header_text(self.rendered.subject), utf8),
                _fold("X-Hub-Event-Id", self.event_id, utf8),
            )
            if skeleton.boundary in self.text.raw or skeleton.boundary in self.html.raw:
                raise _NotPlain("the boundary is in the content")
            self._skeletons[key] = skeleton
        return self._skeletons[key]


class _NotPlain(Exception):
    """This message is built the slow way, by build_message."""


class PrebuiltMessages:
    """Recipients' emails from pre-built messages, kept for the last few renderings."""

    def __init__(
        self, sender: Address, message_id_domain: str, cache_size: int = CACHE_SIZE
    ) -> None:
        self.sender = sender
        self.message_id_domain = message_id_domain
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Rendered, str, str], Prebuilt] = OrderedDict()
        self._date = (0, "")
        # Shapes by (SMTPUTF8, links, encodings, language): a handful, built once per worker.
        self._shapes: dict[tuple[bool, bool, str, str, str], _Shape] = {}
        self._plain_domain = _PLAIN_ADDRESS.fullmatch(f"x@{message_id_domain}") is not None

    def message(self, rendered: Rendered, delivery: Delivery) -> WireMessage:
        """The recipient's email: patched from the pre-built one, else built in full."""
        utf8 = not (self.sender.addr_spec + delivery.recipient.address).isascii()
        try:
            return self._patched(self._prebuilt(rendered, delivery), delivery, utf8)
        except _NotPlain:
            message = build_message(
                rendered, delivery, sender=self.sender, message_id_domain=self.message_id_domain
            )
            return WireMessage(wire_bytes(message, utf8=utf8), utf8, str(message["Message-ID"]))

    def _prebuilt(self, rendered: Rendered, delivery: Delivery) -> Prebuilt:
        key = (rendered, delivery.event_id, delivery.language)
        prebuilt = self._cache.get(key)
        if prebuilt is None:
            prebuilt = Prebuilt(rendered, delivery.event_id, delivery.language, self._shape)
            self._cache[key] = prebuilt
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return prebuilt

    def _shape(
        self, sender: Address, utf8: bool, links: bool, encodings: tuple[str, str], language: str
    ) -> _Shape:
        key = (utf8, links, *encodings, language)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = _shape(sender, utf8, links, encodings, language)
        return shape

    def _patched(self, prebuilt: Prebuilt, delivery: Delivery, utf8: bool) -> WireMessage:
        links = delivery.links
        preferences = links.preferences if links else ""
        unsubscribe = links.unsubscribe if links else ""
        if any(_breaks(link) for link in (preferences, unsubscribe)):
            raise _NotPlain("a line break in a link")
        preferences_mark, unsubscribe_mark = prebuilt.marks
        text_links = {preferences_mark: _utf8(preferences), unsubscribe_mark: _utf8(unsubscribe)}
        html_links = {
            preferences_mark: _utf8(escape(preferences)),
            unsubscribe_mark: _utf8(escape(unsubscribe)),
        }
        text = prebuilt.text.lines_for(text_links)
        html = prebuilt.html.lines_for(html_links)
        encodings = (prebuilt.text.encoding(text), prebuilt.html.encoding(html))
        skeleton = prebuilt.skeleton(self.sender, utf8, links is not None, encodings)
        for line in (*text.values(), *html.values()):
            if skeleton.boundary in line:
                raise _NotPlain("the boundary is in a link")
        message_id = f"<{delivery.id}@{self.message_id_domain}>"
        list_header = b""
        if links is not None:
            value = list_unsubscribe(links.unsubscribe, links.unsubscribe_mailto)
            if len("List-Unsubscribe: ") + len(value) > RFC5322_MAX_LINE:
                # As the policy refuses it when build_message's message is flattened.
                raise ValueError(
                    "List-Unsubscribe must be one line of plain ASCII under 998 characters"
                )
            list_header = f"List-Unsubscribe: {value}\r\n".encode("ascii")
        data = b"".join(
            (
                skeleton.before_recipient,
                self._recipient_headers(delivery, message_id, utf8),
                skeleton.before_unsubscribe,
                list_header,
                skeleton.before_text,
                prebuilt.text.wire(encodings[0], text, text_links),
                skeleton.before_html,
                prebuilt.html.wire(encodings[1], html, html_links),
                skeleton.after_html,
            )
        )
        return WireMessage(data, utf8, message_id)

    def _recipient_headers(self, delivery: Delivery, message_id: str, utf8: bool) -> bytes:
        name = header_text(delivery.recipient.name)
        address = header_text(delivery.recipient.address)
        plain_to = _PLAIN_ADDRESS.fullmatch(address) and (not name or _PLAIN_NAME.fullmatch(name))
        to = f"{name} <{address}>" if name else address
        plain_id = self._plain_domain and _PLAIN_ID.fullmatch(delivery.id)
        date = self._now()
        lines = [f"To: {to}", f"Date: {date}", f"Message-ID: {message_id}"]
        lines.append(f"X-Hub-Delivery-Id: {delivery.id}")
        max_line = POLICY.max_line_length or RFC5322_MAX_LINE
        if plain_to and plain_id and all(len(line) <= max_line for line in lines):
            return "\r\n".join(lines).encode("ascii") + b"\r\n"
        # Anything else is folded the way build_message's message would fold it.
        headers = recipient_headers(delivery, self.message_id_domain)
        headers[1] = ("Date", date)
        return b"".join(_fold(name, value, utf8) for name, value in headers)

    def _now(self) -> str:
        # One Date per second, as format_datetime would give it for each message.
        now = datetime.now(UTC)
        second = int(now.timestamp())
        if self._date[0] != second:
            self._date = (second, format_datetime(now.replace(microsecond=0)))
        return self._date[1]


def _fold(name: str, value: Any, utf8: bool) -> bytes:
    _, header = POLICY.header_store_parse(name, value)
    return (WIRE_UTF8 if utf8 else WIRE).fold_binary(name, header)


def _parts(message: EmailMessage) -> tuple[EmailMessage, EmailMessage]:
    text_part, html_part = message.iter_parts()
    assert isinstance(text_part, EmailMessage) and isinstance(html_part, EmailMessage)
    return text_part, html_part


def _cut(data: bytes, separator: bytes) -> tuple[bytes, bytes]:
    before, found, after = data.partition(separator)
    if not found or separator in after:
        raise _NotPlain("the skeleton does not have its slot exactly once")
    return before, after


def _swap(data: bytes, old: bytes, new: bytes) -> bytes:
    before, found, after = data.partition(old)
    if not found or old in after:
        raise _NotPlain("the skeleton does not have its slot exactly once")
    return before + new + after


def _breaks(value: str) -> bool:
    return "\n" in value or "\r" in value


def _utf8(value: str) -> bytes:
    return value.encode("utf-8")
