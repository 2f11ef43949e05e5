"""The `hub` command: run the worker, validate and publish events."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from hub.errors import ConfigurationError, InvalidEventError
from hub.settings import Settings

EXIT_INVALID = 2
EXIT_UNAVAILABLE = 3


def _read_event(path: str, settings: Settings) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(settings.limits.max_event_bytes + 1)
    return Path(path).read_bytes()


def _accept(path: str, settings: Settings):  # type: ignore[no-untyped-def]
    from hub.publishing import accept
    from hub.schemas import SchemaCatalog

    return accept(
        _read_event(path, settings),
        SchemaCatalog(settings.schemas_dir),
        topic_prefix=settings.kafka.topic_prefix,
        max_bytes=settings.limits.max_event_bytes,
        allow_yaml=True,
    )


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    accepted = _accept(args.file, settings)
    print(f"valid {accepted.document['type']} event {accepted.document['id']}")
    return 0


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    from hub.kafka_client import publish

    accepted = _accept(args.file, settings)
    published_by = os.environ.get("USER", "cli")
    partition, offset = asyncio.run(publish(settings.kafka, accepted, published_by))
    print(
        f"published {accepted.document['type']} event {accepted.document['id']} "
        f"to {accepted.topic} (partition {partition}, offset {offset})"
    )
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from hub.kafka_client import read_topic
    from hub.outcomes import Outcome
    from hub.status import fold, summary
    from hub.topics import TopicNames

    key = args.event_id.encode()
    records = asyncio.run(
        read_topic(
            settings.kafka, TopicNames(settings.kafka.topic_prefix).outcomes, keep=key.__eq__
        )
    )
    if not records:
        print(f"no outcome recorded for event {args.event_id} (yet)", file=sys.stderr)
        return 1
    status: dict[str, object] | None = None
    states: dict[str, dict[str, object]] = {}
    for _key, value in records:
        outcome = Outcome.from_dict(value)
        status, state = fold(status, states.get(outcome.delivery_id), outcome)
        if state is not None:
            states[outcome.delivery_id] = state
    assert status is not None
    if args.json:
        print(json.dumps({**status, "totals": summary(status)}, indent=2, ensure_ascii=False))
        return 0
    print(f"event {args.event_id}")
    for reason in status["skipped"]:  # type: ignore[attr-defined]
        print(f"  not delivered: {reason}")
    print("  " + ", ".join(f"{k} {v}" for k, v in summary(status).items()))
    for channel, languages in sorted(status["channels"].items()):  # type: ignore[attr-defined]
        for language, counts in sorted(languages.items()):
            print(f"  {channel}/{language}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for failure in status["failures"].values():  # type: ignore[attr-defined]
        print(f"  failed: {failure['recipient_id']} ({failure['channel']}): {failure['reason']}")
    return 0


def cmd_redrive(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from hub.kafka_client import redrive
    from hub.redrive import delivery_to_resend, redrive_audit
    from hub.routing import ChannelKey
    from hub.topics import TopicNames

    names = TopicNames(settings.kafka.topic_prefix)
    actor = os.environ.get("USER", "cli")
    count = asyncio.run(
        redrive(
            settings.kafka,
            group=f"{settings.app_id}-redrive",
            dead_letter_topic=names.dead_letters(ChannelKey.EMAIL),
            forward=lambda letter: delivery_to_resend(letter, names.deliveries(ChannelKey.EMAIL)),
            audit_topic=names.audit,
            audit_entry=lambda letter: redrive_audit(letter, actor, datetime.now(UTC)),
        )
    )
    print(f"re-drove {count} dead letter(s)")
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from hub.worker import run_worker

    run_worker(settings, loglevel=args.loglevel)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    worker = commands.add_parser("worker", help="run a worker: agents and the HTTP API")
    worker.add_argument("--loglevel", default="info")
    worker.set_defaults(handler=cmd_worker)

    publish = commands.add_parser("publish", help="validate an event (JSON or YAML) and publish it")
    publish.add_argument("file", help="path to the event, or - for standard input")
    publish.set_defaults(handler=cmd_publish)

    status = commands.add_parser("status", help="delivery status of one event")
    status.add_argument("event_id")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(handler=cmd_status)

    redrive = commands.add_parser("redrive", help="send dead-lettered deliveries again")
    redrive.set_defaults(handler=cmd_redrive)

    from hub import cli_newsletters, cli_partners, cli_subscribers

    cli_subscribers.add_commands(commands)
    cli_newsletters.add_commands(commands)
    cli_partners.add_commands(commands)

    validate = commands.add_parser("validate", help="validate an event without publishing it")
    validate.add_argument("file", help="path to the event, or - for standard input")
    validate.set_defaults(handler=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
        return int(args.handler(args, settings))
    except InvalidEventError as exc:
        print(f"{getattr(args, 'file', '')}: event refused", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem.path}: {problem.message}", file=sys.stderr)
        return EXIT_INVALID
    except ValidationError as exc:
        # Each problem by its setting, without the values: they may be secrets.
        for error in exc.errors(include_input=False, include_url=False):
            where = "__".join(str(part) for part in error["loc"]).upper()
            print(f"error: settings: HUB_{where}: {error['msg']}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except (OSError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except json.JSONDecodeError as exc:  # pragma: no cover - parse_document maps these
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
