"""`hub subscribers load`, `hub staff import` and `hub dry-run`: subscriber work from the shell."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.kafka.admin import COMPACTED, ensure_topics
from hub.kafka.client import latest_by_key, send_records
from hub.kafka.topics import TopicNames
from hub.model.events import Event
from hub.model.subscriber_commands import Cause
from hub.model.subscribers import (
    InvalidSubscriberError,
    Subscriber,
    load_subscribers,
    subscriber_from_dict,
)
from hub.planning.dryrun import dry_run
from hub.settings import Settings
from hub.subscribers.selfservice import command
from hub.subscribers.staff_import import (
    StaffImportError,
    diff_staff,
    format_diff,
    offboarded,
    parse_staff_csv,
)


def _actor() -> str:
    return os.environ.get("USER", "cli")


async def _current(settings: Settings) -> list[Subscriber]:
    topic = TopicNames(settings.kafka.topic_prefix).subscribers
    await ensure_topics(settings.kafka, [topic], COMPACTED, partitions=1)
    records = await latest_by_key(settings.kafka, topic)
    current = []
    for raw in records.values():
        try:
            current.append(subscriber_from_dict(raw["subscriber"]))
        except (InvalidSubscriberError, KeyError, TypeError, ValueError):
            continue  # unreadable records are the worker's to report
    return current


async def _write(settings: Settings, subscribers: list[Subscriber], cause: Cause) -> None:
    topic = TopicNames(settings.kafka.topic_prefix).subscribers
    await ensure_topics(settings.kafka, [topic], COMPACTED, partitions=1)
    await send_records(settings.kafka, topic, _commands(subscribers, cause, _actor()))


def _commands(
    subscribers: list[Subscriber], cause: Cause, actor: str
) -> list[tuple[bytes, dict[str, Any] | None]]:
    """The command for each subscriber. They differ only in the record they carry, so the
    command is built (and checked) once and each record put in a copy: at 100,000 people,
    building each through the model took most of a load."""
    if not subscribers:
        return []
    shape = command(subscribers[0], cause, actor)
    return [(s.id.encode(), {**shape, "subscriber": s.to_dict()}) for s in subscribers]


def cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    """Load subscribers from a YAML or JSON file (demo data, migrations)."""
    now = datetime.now(UTC).isoformat()
    subscribers = [
        s.with_changes(updated_at=now) for s in load_subscribers(Path(args.file), settings.spoken())
    ]
    asyncio.run(_write(settings, subscribers, Cause.IMPORTED))
    print(f"loaded {len(subscribers)} subscriber(s) from {args.file}")
    return 0


def cmd_staff_import(args: argparse.Namespace, settings: Settings) -> int:
    """Create and update staff from the directory export; offboard leavers; print the diff."""
    now = datetime.now(UTC).isoformat()
    try:
        incoming = parse_staff_csv(
            Path(args.file).read_bytes(), now=now, languages=settings.spoken()
        )
    except StaffImportError as exc:
        print(f"{args.file}: nothing imported\n{exc}", file=sys.stderr)
        return 2
    diff = diff_staff(asyncio.run(_current(settings)), incoming)
    print(format_diff(diff))
    if args.dry_run or diff.is_empty:
        return 0
    changes = [*diff.joined, *(new for _old, new, _fields in diff.changed)]
    changes += [offboarded(s, now) for s in diff.left]
    asyncio.run(_write(settings, changes, Cause.IMPORTED))
    return 0


def cmd_dry_run(args: argparse.Namespace, settings: Settings) -> int:
    """Who would receive this event, without sending anything."""
    from hub.intake.publishing import accept
    from hub.intake.schemas import SchemaCatalog

    accepted = accept(
        Path(args.file).read_bytes(),
        SchemaCatalog(settings.schemas_dir),
        topic_prefix=settings.kafka.topic_prefix,
        max_bytes=settings.limits.max_event_bytes,
        allow_yaml=True,
    )
    event = Event.from_document(accepted.document)
    from hub.cli.partners import registry_now

    report = dry_run(
        event,
        asyncio.run(_current(settings)),
        datetime.now(UTC),
        settings.spoken(),
        asyncio.run(registry_now(settings)),
    )
    if not args.json:
        report.pop("preview")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def add_commands(commands: Any) -> None:
    subscribers = commands.add_parser("subscribers", help="subscriber records")
    actions = subscribers.add_subparsers(dest="action", required=True)
    load = actions.add_parser("load", help="load subscribers from a YAML or JSON file")
    load.add_argument("file")
    load.set_defaults(handler=cmd_load)

    staff = commands.add_parser("staff", help="the staff directory")
    staff_actions = staff.add_subparsers(dest="action", required=True)
    staff_import = staff_actions.add_parser("import", help="import the staff directory CSV")
    staff_import.add_argument("file")
    staff_import.add_argument("--dry-run", action="store_true", help="print the diff only")
    staff_import.set_defaults(handler=cmd_staff_import)

    preview = commands.add_parser("dry-run", help="who would receive an event (nothing is sent)")
    preview.add_argument("file")
    preview.add_argument("--json", action="store_true", help="include the recipient preview")
    preview.set_defaults(handler=cmd_dry_run)
