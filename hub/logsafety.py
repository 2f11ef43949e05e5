"""Secrets and personal data stay out of the logs: quiet chatty libraries, redact the rest."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

# httpx logs every request URL at INFO, and the Bot API's URL holds the bot token.
QUIET = ("httpx", "httpcore", "telegram", "aiosmtplib", "aiosmtpd", "mail.log")
REDACTED = "[redacted]"
PATTERNS = [
    # A Telegram bot token, wherever it appears (in a Bot API URL, say).
    (re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{20,}"), "[bot-token]"),
    # The signed token of a link: ?t=..., &t=..., /start ... in query strings.
    (re.compile(r"([?&](?:t|token|start)=)[^&\s\"'<>]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/start\s+)[A-Za-z0-9_-]{16,}"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)(bearer\s+)[^\s\"',]+"), rf"\1{REDACTED}"),
    (re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), "[address]"),
]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every record's message (and exception text) without secrets or addresses."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is removed whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message, self.secrets)
        record.args = ()  # mode's formatter turns None into (None,)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


class AccessLogFilter(logging.Filter):
    """uvicorn's access log without query strings: links carry their signed token in `t=`."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path = args[2].split("?", 1)[0]
            record.args = (args[0], args[1], path, args[3], args[4])
        return True


def install(root: logging.Logger, secrets: Iterable[str] = ()) -> None:
    """Quiet the libraries that log URLs or addresses and redact what every handler writes."""
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").addFilter(AccessLogFilter())
    redacting = RedactingFilter(secrets)
    for handler in root.handlers:
        handler.addFilter(redacting)
