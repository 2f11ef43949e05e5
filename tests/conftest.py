"""Shared fixtures: a real SMTP server on a free port, free ports, the Kafka broker, Chromium."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from devstack.mailcatcher import MailCatcher

# Fixtures shared by several test modules: the Telegram sandbox's (server, bot, control), the
# fault tests' make_stack, and a worker with a sandbox and a mail catcher (telegram_stack).
pytest_plugins = ["tests.sandbox_fixtures", "tests.faultstack", "tests.sandboxprocess"]

# python-telegram-bot warns about RetryAfter's int form unless this is set (warnings are errors).
os.environ.setdefault("PTB_TIMEDELTA", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first: `make test` shares the files among processes as they free up,
    and a cluster test started last would run alone at the end. Within a file, order is kept."""

    def weight(item: pytest.Item) -> int:
        if item.get_closest_marker("cluster"):
            return 0
        return 1 if item.get_closest_marker("kafka") else 2

    items.sort(key=weight)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The catcher renames each message into place whole and never changes it: parse each file once,
# so tests that poll a large outbox do not parse thousands of messages on every poll.
_PARSED: dict[Path, EmailMessage] = {}


def read_outbox(outbox: Path) -> list[EmailMessage]:
    """Every message the catcher stored, parsed (oldest first)."""
    parser = BytesParser(policy=policy.default)
    messages = []
    for path in sorted(outbox.glob("*.eml")):
        if path not in _PARSED:
            _PARSED[path] = parser.parsebytes(path.read_bytes())  # type: ignore[assignment]
        messages.append(_PARSED[path])
    return messages


def mail_to(outbox: Path, address: str, subject_has: str = "") -> list[EmailMessage]:
    """The messages stored for `address` (whose subject has `subject_has`), oldest first."""
    return [
        m
        for m in read_outbox(outbox)
        if m["To"].addresses[0].addr_spec == address and subject_has in str(m["Subject"])
    ]


def text_of(message: EmailMessage) -> str:
    """The plain-text part of a message."""
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def link_in(message: EmailMessage, path: str) -> str:
    """The signed link to `path` (…/path?t=token) in the plain-text part of a message."""
    text = text_of(message)
    found = re.search(rf"https?://\S+{re.escape(path)}\?t=[\w.-]+", text)
    assert found, f"no {path} link in {text!r}"
    return found.group(0)


@pytest.fixture
def mail_catcher(tmp_path: Path) -> Iterator[MailCatcher]:
    with MailCatcher(tmp_path / "outbox", port=free_port()) as catcher:
        yield catcher


@pytest.fixture(scope="session")
def kafka_broker() -> str:
    """The real broker `make test` started; its absence is a failure, not a skip."""
    from devstack import kafka

    info = kafka.try_probe("127.0.0.1", 9092)
    if info is None:
        pytest.fail("Kafka is not running on 127.0.0.1:9092: run `make test`, which starts it")
    return "127.0.0.1:9092"


CHROMIUM = Path("/usr/bin/chromium")
# As the machine's own probe starts it: no sandbox as root, no background network calls.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
