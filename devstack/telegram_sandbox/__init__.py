"""A local Telegram Bot API server: the methods the hub uses, with Telegram's errors and limits."""

from devstack.telegram_sandbox.errors import ApiError
from devstack.telegram_sandbox.faults import FAULT_KINDS, Fault
from devstack.telegram_sandbox.html_mode import parse_html
from devstack.telegram_sandbox.sandbox import DEFAULT_RECORD_DIR, DEFAULT_TOKEN, TelegramSandbox
from devstack.telegram_sandbox.server import DEFAULT_PORT, make_app, serve
from devstack.telegram_sandbox.state import Chat

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_RECORD_DIR",
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "ApiError",
    "Chat",
    "Fault",
    "TelegramSandbox",
    "make_app",
    "parse_html",
    "serve",
]
