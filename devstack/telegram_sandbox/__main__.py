"""A local Telegram Bot API server: the methods the hub uses, with Telegram's errors and limits."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from devstack.telegram_sandbox.sandbox import DEFAULT_RECORD_DIR, DEFAULT_TOKEN, TelegramSandbox
from devstack.telegram_sandbox.server import DEFAULT_PORT, make_app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--token",
        action="append",
        dest="tokens",
        help=f"a bot token to accept; repeat for several bots (default {DEFAULT_TOKEN})",
    )
    parser.add_argument("--record-dir", type=Path, default=DEFAULT_RECORD_DIR)
    parser.add_argument(
        "--strict-chats",
        action="store_true",
        help="answer 'chat not found' for chats not registered or written from",
    )
    parser.add_argument(
        "--no-enforce-limits",
        dest="enforce_limits",
        action="store_false",
        help="count rate-limit violations in /sandbox/stats without answering 429",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sandbox = TelegramSandbox(
        args.tokens or [DEFAULT_TOKEN],
        record_dir=args.record_dir,
        enforce_limits=args.enforce_limits,
        strict_chats=args.strict_chats,
    )
    base = f"http://{args.host}:{args.port}"
    for bot in sandbox.bots.values():
        print(f"bot @{bot.user['username']}: Bot(token, base_url='{base}/bot')")
    print(f"messages sent: {base}/ and {args.record_dir}")
    web.run_app(make_app(sandbox), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
