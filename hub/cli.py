"""The `hub` command: run the worker, validate and publish events."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

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
    except (OSError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except json.JSONDecodeError as exc:  # pragma: no cover - parse_document maps these
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
