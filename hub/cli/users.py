"""`hub users create|reset|disable|enable|list`: console accounts, written straight to Kafka.

Whoever can reach the broker is trusted (as for `hub tokens`): this is how the first officer's
account comes to exist. A password is read from standard input (--password-stdin) or made up
and printed once; it is never an argument, which would leave it in the shell's history.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
from datetime import UTC, datetime
from typing import Any

from hub.access import account_store, accounts
from hub.access.accounts import AccountError, check_language
from hub.access.roles import Role
from hub.settings import Settings

EXIT_REFUSED = 2


def _actor() -> str:
    return os.environ.get("USER", "cli")


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password to set, and whether it was made up here (then it is printed once)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return secrets.token_urlsafe(15), True


def _refused(exc: AccountError) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return EXIT_REFUSED


def _show_password(name: str, password: str, made_up: bool) -> None:
    if made_up:
        print(f"the password of {name}, shown only this once:", file=sys.stderr)
        print(password)


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    languages = settings.spoken()
    try:  # before the password is read: an unknown language is told at once
        language = check_language(args.language or languages.default, languages)
    except AccountError as exc:
        return _refused(exc)
    password, made_up = _password(args)
    now = datetime.now(UTC)
    try:
        account = asyncio.run(
            account_store.change(
                settings,
                args.name,
                "account.created",
                lambda existing: accounts.create(
                    args.name,
                    display_name=args.display_name or args.name,
                    email=args.email,
                    roles=args.role,
                    language=language,
                    password=password,
                    by=_actor(),
                    now=now,
                    existing=existing,
                    languages=languages,
                ),
                _actor(),
                now,
            )
        )
    except AccountError as exc:
        return _refused(exc)
    print(f"created account {account.name} ({', '.join(sorted(account.roles))})", file=sys.stderr)
    _show_password(account.name, password, made_up)
    return 0


def cmd_reset(args: argparse.Namespace, settings: Settings) -> int:
    password, made_up = _password(args)
    try:
        account = asyncio.run(
            account_store.reset_password(settings, args.name, password, _actor(), datetime.now(UTC))
        )
    except AccountError as exc:
        return _refused(exc)
    print(f"new password set for {account.name}; its sessions are ended", file=sys.stderr)
    _show_password(account.name, password, made_up)
    return 0


def cmd_disable(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.now(UTC)
    try:
        asyncio.run(
            account_store.change(
                settings,
                args.name,
                "account.disabled",
                lambda existing: accounts.disable(existing, args.name, _actor(), now),
                _actor(),
                now,
            )
        )
    except AccountError as exc:
        return _refused(exc)
    print(f"disabled account {args.name}; its sessions are ended")
    return 0


def cmd_enable(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.now(UTC)
    try:
        asyncio.run(
            account_store.change(
                settings,
                args.name,
                "account.enabled",
                lambda existing: accounts.enable(existing, args.name),
                _actor(),
                now,
            )
        )
    except AccountError as exc:
        return _refused(exc)
    print(f"enabled account {args.name}")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    index = asyncio.run(account_store.load(settings))
    shown: list[dict[str, Any]] = [a.public() for a in index.all()]
    if args.json:
        print(json.dumps(shown, indent=2))
        return 0
    for entry in shown:
        state = f"disabled {entry['disabled_at']}" if entry["disabled_at"] else "active"
        print(
            f"{entry['name']}\t{','.join(entry['roles'])}\t{entry['email']}\t"
            f"{entry['language']}\t{state}"
        )
    return 0


def add_commands(commands: Any) -> None:
    users = commands.add_parser("users", help="console accounts: create, reset, disable, list")
    sub = users.add_subparsers(dest="users_command", required=True)

    create = sub.add_parser("create", help="a console account; prints a made-up password once")
    create.add_argument("name", help="the sign-in name, e.g. ana.silva")
    create.add_argument("--email", required=True, help="where test sends and notices go")
    create.add_argument("--display-name", help="the name shown in the console and audit")
    create.add_argument(
        "--role",
        action="append",
        required=True,
        choices=[r.value for r in Role],
        help="a role it holds (repeat for several)",
    )
    create.add_argument(
        "--language",
        default=None,
        help="the console's language for this account (one the hub speaks; default: its default)",
    )
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(handler=cmd_create)

    reset = sub.add_parser("reset", help="a new password (made up, or from standard input)")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true")
    reset.set_defaults(handler=cmd_reset)

    disable = sub.add_parser("disable", help="no more sign-in; current sessions end at once")
    disable.add_argument("name")
    disable.set_defaults(handler=cmd_disable)

    enable = sub.add_parser("enable", help="allow a disabled account to sign in again")
    enable.add_argument("name")
    enable.set_defaults(handler=cmd_enable)

    listing = sub.add_parser("list", help="accounts: names, roles, email, language, state")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)
