"""Headers on the wire, read as the raw bytes a real SMTP server received: List-Unsubscribe as a
plain ASCII URI list (RFC 2369, RFC 8058), and line breaks in names and titles replaced."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from channels.email.channel import EmailChannel
from channels.email.mime import header_text, list_unsubscribe
from devstack.mailcatcher import MailCatcher
from hub.planning.routing import plan
from hub.rendering.environment import Renderer
from hub.rendering.links import LinkMaker
from hub.settings import REPO_ROOT, SmtpSettings
from hub.subscribers.tokens import Signer
from tests.conftest import read_outbox
from tests.helpers import event, subscriber

RENDERER = Renderer(REPO_ROOT / "templates")
LINKS = LinkMaker(
    Signer(b"k" * 32),
    "https://hub.example.org",
    "hub.example.org",
    lambda: datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
)


def raw_messages(catcher: MailCatcher) -> list[bytes]:
    return [path.read_bytes() for path in sorted(catcher.outbox.glob("*.eml"))]


def header_lines(raw: bytes, name: bytes) -> list[bytes]:
    """Every line of the header block that belongs to `name` (its first line and any folds)."""
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
    found: list[bytes] = []
    taking = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if taking:
                found.append(line)
            continue
        taking = line.lower().startswith(name.lower() + b":")
        if taking:
            found.append(line)
    return found


async def test_list_unsubscribe_is_a_plain_ascii_uri_list_on_the_wire(
    mail_catcher: MailCatcher,
) -> None:
    news = event()
    (delivery,) = plan(news, [subscriber("ext-0123456789abcdef0123", language="fr")])
    delivery = replace(delivery, links=LINKS.for_subscriber(delivery.recipient.id))
    channel = EmailChannel(SmtpSettings(port=mail_catcher.controller.port, timeout=5))
    try:
        await channel.send(RENDERER.render(news, "email", "fr"), delivery)
    finally:
        await channel.close()
    (raw,) = raw_messages(mail_catcher)
    lines = header_lines(raw, b"List-Unsubscribe")
    assert len(lines) == 1, lines  # one line: never folded
    (line,) = lines
    assert line.isascii() and b"=?" not in line
    match = re.fullmatch(rb"List-Unsubscribe: <(https://[^>]+)>, <(mailto:[^>]+)>", line)
    assert match, line
    assert match.group(1).decode() == delivery.links.unsubscribe  # type: ignore[union-attr]
    assert match.group(2).decode() == delivery.links.unsubscribe_mailto  # type: ignore[union-attr]
    assert header_lines(raw, b"List-Unsubscribe-Post") == [
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click"
    ]


async def test_line_breaks_in_names_and_titles_are_replaced_not_folded(
    mail_catcher: MailCatcher,
) -> None:
    title = "Partnership\r\nBcc: victim@example.org\nX-Injected: yes"
    news = event()
    rendered = RENDERER.render(news, "email", "en")
    rendered = replace(rendered, subject=title)
    person = subscriber("ext-1", name="Ana\r\nBcc: other@example.org\u2028Smith")
    (delivery,) = plan(news, [person])
    channel = EmailChannel(SmtpSettings(port=mail_catcher.controller.port, timeout=5))
    try:
        await channel.send(rendered, delivery)
    finally:
        await channel.close()
    (raw,) = raw_messages(mail_catcher)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in head and b"\nX-Injected" not in head
    (message,) = read_outbox(mail_catcher.outbox)
    assert message["Subject"] == "Partnership Bcc: victim@example.org X-Injected: yes"
    assert message["To"].addresses[0].display_name == "Ana Bcc: other@example.org Smith"
    assert message["To"].addresses[0].addr_spec == person.email
    assert message["Bcc"] is None


def test_header_text_keeps_ordinary_text_and_drops_every_control() -> None:
    assert header_text("Réseau   ouest-africain") == "Réseau ouest-africain"
    assert header_text("a\rb\nc\x00d\x1be\u0085f\u2029g") == "a b c d e f g"


def test_a_uri_list_refuses_anything_that_is_not_plain_ascii() -> None:
    with pytest.raises(ValueError, match="URI list"):
        list_unsubscribe("https://hub.example.org/u?t=é", "mailto:u@hub.example.org")
    with pytest.raises(ValueError, match="URI list"):
        list_unsubscribe("https://hub.example.org/u?t=a>, <https://evil", "mailto:u@x.org")
