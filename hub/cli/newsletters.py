"""`hub newsletter preview|curate|send-now NAME`: an editor's work from the shell."""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.errors import ConfigurationError
from hub.kafka.client import read_topic, send_records
from hub.kafka.topics import TopicNames
from hub.newsletters.config import Newsletter, load_newsletters
from hub.newsletters.editions import render_edition
from hub.newsletters.state import apply, empty_state, next_items
from hub.rendering.environment import Renderer
from hub.settings import Settings


def _newsletter(settings: Settings, name: str) -> Newsletter:
    newsletters = load_newsletters(settings.newsletters_file)
    if name not in newsletters:
        raise ConfigurationError(f"no newsletter {name!r}; known: {', '.join(sorted(newsletters))}")
    return newsletters[name]


def _topic(settings: Settings) -> str:
    return TopicNames(settings.kafka.topic_prefix).newsletters


def _send(settings: Settings, name: str, record: dict[str, Any]) -> None:
    asyncio.run(send_records(settings.kafka, _topic(settings), [(name.encode(), record)]))


def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    newsletter = _newsletter(settings, args.name)
    key = args.name.encode()
    records = asyncio.run(read_topic(settings.kafka, _topic(settings), keep=key.__eq__))
    state = empty_state()
    for _key, record in records:
        if isinstance(record, dict):
            state = apply(state, record)
    items = next_items(state, newsletter)
    now = datetime.now(UTC)
    print(f"next edition of {newsletter.name}: {newsletter.edition_id(now)} ({len(items)} items)")
    for position, event in enumerate(items, 1):
        title = event.content[sorted(event.languages)[0]].title
        print(f"  {position}. {event.id}  [{event.type}]  {title}")
    if args.html:
        rendered = render_edition(
            Renderer(settings.templates_dir),
            newsletter,
            newsletter.period_start(now),
            items,
            state.curation.intro,
            args.lang,
            archive=True,
        )
        Path(args.html).write_text(rendered.html, encoding="utf-8")
        print(f"written to {args.html}")
    return 0


def cmd_curate(args: argparse.Namespace, settings: Settings) -> int:
    _newsletter(settings, args.name)
    record: dict[str, Any] = {"kind": "curate", "by": os.environ.get("USER", "cli")}
    if args.pin is not None:
        record["pinned"] = args.pin
    if args.exclude is not None:
        record["excluded"] = args.exclude
    if args.order is not None:
        record["order"] = args.order.split(",")
    intro = dict(item.split("=", 1) for item in args.intro or [])
    if intro:
        record["intro"] = intro
    _send(settings, args.name, record)
    print(f"curation of {args.name} recorded")
    return 0


def cmd_send_now(args: argparse.Namespace, settings: Settings) -> int:
    newsletter = _newsletter(settings, args.name)
    now = datetime.now(UTC)
    by = os.environ.get("USER", "cli")
    _send(settings, args.name, {"kind": "compile", "at": now.isoformat(), "by": by})
    print(f"edition {newsletter.edition_id(now)} requested (sent once per period)")
    return 0


def add_commands(commands: Any) -> None:
    newsletter = commands.add_parser("newsletter", help="newsletter editions")
    actions = newsletter.add_subparsers(dest="action", required=True)
    preview = actions.add_parser("preview", help="the next edition as it stands")
    preview.add_argument("name")
    preview.add_argument("--html", help="also write the edition page to this file")
    preview.add_argument("--lang", default="en")
    preview.set_defaults(handler=cmd_preview)
    curate = actions.add_parser("curate", help="pin, leave out, reorder; write the introduction")
    curate.add_argument("name")
    curate.add_argument("--pin", nargs="*", metavar="EVENT_ID")
    curate.add_argument("--exclude", nargs="*", metavar="EVENT_ID")
    curate.add_argument("--order", metavar="ID,ID,...")
    curate.add_argument("--intro", action="append", metavar="LANG=TEXT")
    curate.set_defaults(handler=cmd_curate)
    send_now = actions.add_parser("send-now", help="send this period's edition now")
    send_now.add_argument("name")
    send_now.set_defaults(handler=cmd_send_now)
