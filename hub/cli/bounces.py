"""`hub bounces read MAILDIR`: asynchronous bounces (RFC 3464 DSNs) from a Maildir to Kafka."""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import sys
from pathlib import Path
from typing import Any

from hub.kafka.admin import ensure_topics
from hub.kafka.client import send_records
from hub.kafka.topics import TopicNames
from hub.settings import Settings
from hub.subscribers.bounces import Bounce, parse_dsn


def read_maildir(box: mailbox.Maildir) -> tuple[dict[str, list[Bounce]], dict[str, str]]:
    """The bounces of each message in new/ by key, and why each other message is not a DSN."""
    found: dict[str, list[Bounce]] = {}
    refused: dict[str, str] = {}
    for key in sorted(box.keys()):
        if box.get_message(key).get_subdir() != "new":
            continue
        try:
            found[key] = parse_dsn(box.get_bytes(key))
        except ValueError as exc:
            refused[key] = str(exc)
    return found, refused


def mark_read(box: mailbox.Maildir, keys: list[str]) -> None:
    """Move messages from new/ to cur/, seen."""
    for key in keys:
        message = box.get_message(key)
        message.set_subdir("cur")
        message.add_flag("S")
        box[key] = message


async def _write(settings: Settings, records: list[tuple[bytes, dict[str, Any] | None]]) -> None:
    topic = TopicNames(settings.kafka.topic_prefix).bounces
    await ensure_topics(settings.kafka, [topic])
    await send_records(settings.kafka, topic, records)


def cmd_read(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.maildir)
    if not (path / "new").is_dir() or not (path / "cur").is_dir():
        print(f"{path}: not a Maildir (no new/ and cur/)", file=sys.stderr)
        return 2
    box = mailbox.Maildir(path, factory=None, create=False)
    found, refused = read_maildir(box)
    records: list[tuple[bytes, dict[str, Any] | None]] = [
        bounce.record() for bounces in found.values() for bounce in bounces
    ]
    if records:
        asyncio.run(_write(settings, records))
    mark_read(box, list(found))
    for key, bounces in found.items():
        hard = sum(1 for b in bounces if b.hard)
        print(f"new/{key}: {len(bounces)} bounces ({hard} hard), moved to cur/")
    for key, why in refused.items():
        print(f"new/{key}: left in place: {why}")
    print(f"{len(records)} bounces from {len(found)} messages; {len(refused)} left in place")
    return 0


def add_commands(commands: Any) -> None:
    bounces = commands.add_parser("bounces", help="asynchronous bounces (delivery status notices)")
    actions = bounces.add_subparsers(dest="action", required=True)
    read = actions.add_parser(
        "read", help="read the DSNs in a Maildir's new/ to the bounces topic, moving them to cur/"
    )
    read.add_argument("maildir")
    read.set_defaults(handler=cmd_read)
