"""What the logs say and how: secrets and personal data kept out, chatty libraries quieted,
one line of text or one JSON object per record."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.settings import Settings

# httpx logs every request URL at INFO, and the Bot API's URL holds the bot token.
QUIET = ("httpx", "httpcore", "telegram", "aiosmtplib", "aiosmtpd", "mail.log")
# Chatter at INFO that says nothing an operator acts on: the Kafka client's connections and
# group joins, faust's and mode's service starts, stops and recovery tables, one access-log line
# per HTTP request. Let through only at HUB_LOG_LEVEL=debug.
NOISY = ("aiokafka", "faust", "mode", "uvicorn.access", "aiohttp.access")
# Context the hub's code passes with `extra=`: a field of its own in each JSON line.
FIELDS = ("event_id", "delivery_id", "channel", "edition_id")
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
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                setattr(record, name, redact(str(value), self.secrets))
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


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts (UTC), level, logger, message, the FIELDS given with
    `extra=`, and the traceback if any. Runs after RedactingFilter, so it writes what is left."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):
        return str(record.msg)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def level_of(name: str) -> int:
    """A level's number from its name in any case ("info", "DEBUG"); INFO if unknown."""
    found = logging.getLevelName(name.upper())
    return found if isinstance(found, int) else logging.INFO


def secrets_of(settings: Settings) -> list[str]:
    """Every secret the settings hold, to be redacted wherever it might be logged."""
    held = [settings.secret_key, *settings.old_secret_keys, settings.telegram.token]
    held += [*settings.publisher_tokens.values(), settings.smtp.password]
    held += [settings.kafka.sasl_password, settings.kafka.ssl_key_password]
    held += [settings.smtp.dkim_private_key, settings.telegram.webhook_secret]
    held += [settings.metrics.token]
    if settings.console.oidc is not None:
        held.append(settings.console.oidc.client_secret)
    return [s.get_secret_value() for s in held if s is not None]


def quiet_libraries(level: int) -> None:
    """Above DEBUG, the libraries' chatter (NOISY) shows only when it is a warning or worse."""
    for name in NOISY:
        logging.getLogger(name).setLevel(
            logging.WARNING if level > logging.DEBUG else logging.NOTSET
        )


def install(
    root: logging.Logger,
    secrets: Iterable[str] = (),
    *,
    level: int | None = None,
    log_format: str = "text",
) -> None:
    """Quiet the libraries that log URLs or addresses and redact what every handler writes;
    with `level`, quiet the chatty ones too; with log_format="json", write JSON lines."""
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").addFilter(AccessLogFilter())
    if level is not None:
        quiet_libraries(level)
    redacting = RedactingFilter(secrets)
    for handler in root.handlers:
        handler.addFilter(redacting)
        if log_format == "json":
            handler.setFormatter(JsonFormatter())


class _OwnHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure` installs (and replaces when called again)."""


def configure(level: int, log_format: str, secrets: Iterable[str] = ()) -> None:
    """Logging of a process before (or without) faust's: one handler on stderr, text or JSON,
    redacting. Like logging.basicConfig, it leaves alone a logging set up by someone else (a
    test runner's capture, say)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _OwnHandler):
            root.removeHandler(handler)
    if root.handlers:
        return
    handler = _OwnHandler()
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # Python's warnings as log records: formatted, redacted
    install(root, secrets, level=level, log_format=log_format)
