"""`hub tokens create|list|revoke`: named API credentials, written straight to Kafka and audited.

Whoever can reach the broker is trusted (as for `hub publish`): this is how the first admin
credential comes to exist.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from hub.access import credential_store
from hub.access.credentials import CredentialError
from hub.access.roles import Role
from hub.settings import Settings

EXIT_REFUSED = 2


def _actor() -> str:
    return os.environ.get("USER", "cli")


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    try:
        credential, token = asyncio.run(
            credential_store.create(settings, args.name, args.role, _actor(), datetime.now(UTC))
        )
    except CredentialError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    roles = ", ".join(sorted(credential.roles))
    print(
        f"created credential {credential.name} ({roles}); its token, shown only this once:",
        file=sys.stderr,
    )
    print(token)
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    index = asyncio.run(credential_store.load(settings))
    shown: list[dict[str, Any]] = [c.public() for c in index.all()]
    if not args.all:
        shown = [c for c in shown if c["revoked_at"] is None]
    if args.json:
        print(json.dumps(shown, indent=2))
        return 0
    for entry in shown:
        state = (
            f"revoked {entry['revoked_at']} by {entry['revoked_by']}"
            if entry["revoked_at"]
            else "active"
        )
        print(
            f"{entry['name']}\t{','.join(entry['roles'])}\tcreated {entry['created_at']} "
            f"by {entry['created_by']}\t{state}"
        )
    return 0


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    try:
        asyncio.run(credential_store.revoke_named(settings, args.name, _actor(), datetime.now(UTC)))
    except CredentialError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"revoked credential {args.name}")
    return 0


def add_commands(commands: Any) -> None:
    tokens = commands.add_parser("tokens", help="API credentials: create, list, revoke")
    sub = tokens.add_subparsers(dest="tokens_command", required=True)

    create = sub.add_parser("create", help="issue a credential; prints its token once")
    create.add_argument("--name", required=True, help="who holds it, e.g. ana.silva")
    create.add_argument(
        "--role",
        action="append",
        required=True,
        choices=[r.value for r in Role],
        help="a role it holds (repeat for several)",
    )
    create.set_defaults(handler=cmd_create)

    listing = sub.add_parser("list", help="credentials: names, roles, created, revoked")
    listing.add_argument("--all", action="store_true", help="include revoked credentials")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)

    revoke = sub.add_parser("revoke", help="revoke a credential at once, on every worker")
    revoke.add_argument("name")
    revoke.set_defaults(handler=cmd_revoke)
