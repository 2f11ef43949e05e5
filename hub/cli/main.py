"""The `hub` command: run the worker, validate and publish events."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hub.errors import ConfigurationError, InvalidEventError
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.model.events import Event
    from hub.planning.gaps import LanguageGaps

EXIT_INVALID = 2
EXIT_UNAVAILABLE = 3


def _read_event(path: str, settings: Settings) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(settings.limits.max_event_bytes + 1)
    return Path(path).read_bytes()


def _accept(path: str, settings: Settings):  # type: ignore[no-untyped-def]
    from hub.intake.publishing import accept
    from hub.intake.schemas import SchemaCatalog

    return accept(
        _read_event(path, settings),
        SchemaCatalog(settings.schemas_dir),
        topic_prefix=settings.kafka.topic_prefix,
        max_bytes=settings.limits.max_event_bytes,
        allow_yaml=True,
    )


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from hub.model.events import Event
    from hub.planning.gaps import language_gaps

    accepted = _accept(args.file, settings)
    event = Event.from_document(accepted.document)
    # Who reads which language needs the directory: only when asked, so validate stays offline.
    recipients = _audience_languages(event, settings) if args.audience else None
    gaps = language_gaps(event, settings.spoken(), recipients or [])
    print(f"valid {accepted.document['type']} event {accepted.document['id']}")
    for line in _gap_lines(gaps, settings.spoken().supported, counted=recipients is not None):
        print(line)
    return 0


def _audience_languages(event: Event, settings: Settings) -> list[str]:
    """The language of each recipient the planner would reach, from the directory in Kafka."""
    from aiokafka.errors import KafkaError

    from hub.cli.partners import registry_now
    from hub.cli.subscribers import _current as current_subscribers
    from hub.planning.audience import audience_of

    try:
        people = asyncio.run(current_subscribers(settings))
        registry = asyncio.run(registry_now(settings))
    except KafkaError as exc:
        raise ConfigurationError(
            f"cannot read the subscriber directory from Kafka at {settings.kafka.broker}: {exc}"
        ) from exc
    return [s.language for s, _channels in audience_of(event, people, registry)]


def _gap_lines(gaps: LanguageGaps, supported: tuple[str, ...], counted: bool) -> list[str]:
    """The languages an event lacks, and (when the audience was read) who reads another one."""
    if not gaps.missing:
        return [f"languages: every supported language ({', '.join(supported)})"]
    lines = [f"languages: missing {', '.join(gaps.missing)} (supported: {', '.join(supported)})"]
    for fallback in gaps.fallbacks:
        if counted:
            lines.append(
                f"  {fallback.language}: {fallback.recipients} recipient(s) will read"
                f" {fallback.reads}"
            )
        else:
            lines.append(f"  {fallback.language} readers will read {fallback.reads}")
    if not counted:
        lines.append("  (--audience counts them in the subscriber directory)")
    return lines


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    from hub.kafka.client import publish

    accepted = _accept(args.file, settings)
    published_by = os.environ.get("USER", "cli")
    partition, offset = asyncio.run(publish(settings.kafka, accepted, published_by))
    print(
        f"published {accepted.document['type']} event {accepted.document['id']} "
        f"to {accepted.topic} (partition {partition}, offset {offset})"
    )
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    if args.stuck:
        return _print_stuck(args, settings)
    if not args.event_id:
        print("error: give an EVENT_ID, or --stuck", file=sys.stderr)
        return EXIT_INVALID
    from hub.delivery.status import split, summarise
    from hub.delivery.status_store import read_changelog

    event_id = args.event_id
    records = asyncio.run(
        read_changelog(settings, lambda key: key == event_id or key.startswith(f"{event_id}/"))
    )
    event_record, deliveries = split(records, event_id)
    if event_record is None and not deliveries:
        print(f"no outcome recorded for event {event_id} (yet)", file=sys.stderr)
        return 1
    status = summarise(event_id, event_record, deliveries)
    if args.json:
        print(json.dumps(status, indent=2, ensure_ascii=False))
        return 0
    print(f"event {event_id}")
    for reason in status["not_delivered"]:
        print(f"  not delivered: {reason}")
    print("  " + ", ".join(f"{k} {v}" for k, v in status["totals"].items()))
    for channel, languages in sorted(status["channels"].items()):
        for language, counts in sorted(languages.items()):
            print(f"  {channel}/{language}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for failure in status["failures"]:
        print(f"  failed: {failure['recipient_id']} ({failure['channel']}): {failure['reason']}")
    return 0


def _stuck_states(args: argparse.Namespace, settings: Settings) -> list[dict[str, object]]:
    from datetime import UTC, datetime, timedelta

    from hub.delivery.status import delivery_states, stuck
    from hub.delivery.status_store import read_changelog

    after = settings.stuck.after_seconds if args.older_than is None else args.older_than
    records = asyncio.run(read_changelog(settings, lambda key: "/" in key))
    found = stuck(delivery_states(records), datetime.now(UTC), timedelta(seconds=after))
    return [s for s in found if args.channel == "all" or s["channel"] == args.channel]


def _print_stuck(args: argparse.Namespace, settings: Settings) -> int:
    found = _stuck_states(args, settings)
    if args.json:
        print(json.dumps({"total": len(found), "deliveries": found}, indent=2, ensure_ascii=False))
        return 0
    print(f"{len(found)} stuck deliveries")
    for s in found:
        print(
            f"  {s['event_id']} {s['channel']} {s['recipient_id']}: {s['status']} since {s['at']}"
            f" (delivery {s['delivery_id']})"
        )
    return 0


def cmd_redrive(args: argparse.Namespace, settings: Settings) -> int:
    actor = os.environ.get("USER", "cli")
    if args.stuck:
        from hub.delivery.stuck_redrive import redrive_deliveries

        found = _stuck_states(args, settings)
        count, missing = asyncio.run(redrive_deliveries(settings, found, actor))
        print(f"re-planned {count} stuck deliveries")
        for delivery_id in missing:
            print(f"  {delivery_id}: its message is no longer in Kafka", file=sys.stderr)
        return 0 if not missing else 1
    from datetime import UTC, datetime

    from hub.delivery.redrive import redrive_audit
    from hub.kafka.client import redrive
    from hub.kafka.topics import TopicNames
    from hub.model.deliveries import ChannelKey

    names = TopicNames(settings.kafka.topic_prefix)
    channels = [ChannelKey.EMAIL, ChannelKey.TELEGRAM]
    total = 0
    for channel in channels:
        if args.channel not in ("all", channel.value):
            continue
        total += asyncio.run(
            redrive(
                settings.kafka,
                group=f"{settings.app_id}-redrive"
                + ("" if channel is ChannelKey.EMAIL else f"-{channel}"),
                dead_letter_topic=names.dead_letters(channel),
                forward=functools.partial(_resend_to, names.deliveries(channel)),
                audit_topic=names.audit,
                audit_entry=lambda letter: redrive_audit(letter, actor, datetime.now(UTC)),
            )
        )
    print(f"re-drove {total} dead letter(s)")
    return 0


def _resend_to(topic: str, letter: dict[str, Any]) -> tuple[str, bytes, dict[str, Any]] | None:
    from hub.delivery.redrive import delivery_to_resend

    return delivery_to_resend(letter, topic)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from hub.runtime.worker import run_worker

    run_worker(settings, loglevel=args.loglevel)
    return 0


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value


def _stuck_options(parser: argparse.ArgumentParser, stuck_help: str) -> None:
    parser.add_argument("--stuck", action="store_true", help=stuck_help)
    parser.add_argument(
        "--older-than",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="stuck means no outcome for this long (default HUB_STUCK__AFTER_SECONDS)",
    )
    parser.add_argument(
        "--channel", choices=("email", "telegram", "all"), default="all", help="default: all"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    worker = commands.add_parser("worker", help="run a worker: agents and the HTTP API")
    worker.add_argument(
        "--loglevel", default=None, help="debug, info, warning or error (default HUB_LOG_LEVEL)"
    )
    worker.set_defaults(handler=cmd_worker)

    publish = commands.add_parser("publish", help="validate an event (JSON or YAML) and publish it")
    publish.add_argument("file", help="path to the event, or - for standard input")
    publish.set_defaults(handler=cmd_publish)

    status = commands.add_parser("status", help="delivery status of one event, or stuck ones")
    status.add_argument("event_id", nargs="?")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    _stuck_options(status, "list deliveries planned or retrying with no outcome for too long")
    status.set_defaults(handler=cmd_status)

    redrive = commands.add_parser(
        "redrive", help="send dead letters again, or (--stuck) re-plan stuck deliveries"
    )
    redrive.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    _stuck_options(redrive, "re-plan stuck deliveries through the ledger instead")
    redrive.set_defaults(handler=cmd_redrive)

    from hub.cli import bounces as cli_bounces
    from hub.cli import doctor as cli_doctor
    from hub.cli import newsletters as cli_newsletters
    from hub.cli import partners as cli_partners
    from hub.cli import subscribers as cli_subscribers
    from hub.cli import tokens as cli_tokens
    from hub.cli import users as cli_users

    cli_subscribers.add_commands(commands)
    cli_newsletters.add_commands(commands)
    cli_partners.add_commands(commands)
    cli_tokens.add_commands(commands)
    cli_users.add_commands(commands)
    cli_doctor.add_commands(commands)
    cli_bounces.add_commands(commands)

    validate = commands.add_parser("validate", help="validate an event without publishing it")
    validate.add_argument("file", help="path to the event, or - for standard input")
    validate.add_argument(
        "--audience",
        action="store_true",
        help="also count, from the subscriber directory in Kafka, who reads another language",
    )
    validate.set_defaults(handler=cmd_validate)
    return parser


def _configure_logging(settings: Settings) -> None:
    """The CLI's own log lines: warnings and errors (all with HUB_LOG_LEVEL=debug), as text or
    JSON (HUB_LOG_FORMAT), redacted like the worker's. What a command prints is not logging."""
    from hub import logsafety

    level = logging.DEBUG if settings.log_level == "debug" else logging.WARNING
    logsafety.configure(level, settings.log_format, logsafety.secrets_of(settings))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
        _configure_logging(settings)
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
            if args.command == "doctor":  # its own form: one failed check per setting
                print(f"{'settings':<12} FAIL: HUB_{where}: {error['msg']} — correct it")
            else:
                print(f"error: settings: HUB_{where}: {error['msg']}", file=sys.stderr)
        return 1 if args.command == "doctor" else EXIT_UNAVAILABLE
    except (OSError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except json.JSONDecodeError as exc:  # pragma: no cover - parse_document maps these
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
