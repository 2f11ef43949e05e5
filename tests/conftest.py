"""Shared fixtures: a real SMTP server on a free port, free ports, and the Kafka broker."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from hub.devstack.mailcatcher import MailCatcher


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_outbox(outbox: Path) -> list[EmailMessage]:
    """Every message the catcher stored, parsed (oldest first)."""
    parser = BytesParser(policy=policy.default)
    return [
        parser.parsebytes(path.read_bytes())  # type: ignore[misc]
        for path in sorted(outbox.glob("*.eml"))
    ]


@pytest.fixture
def mail_catcher(tmp_path: Path) -> Iterator[MailCatcher]:
    with MailCatcher(tmp_path / "outbox", port=free_port()) as catcher:
        yield catcher
