"""`hub partners ...`: the partner registry and requests for partner access, from the shell."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml

from hub.kafka.admin import COMPACTED, ensure_topics
from hub.kafka.client import latest_by_key, send_records
from hub.kafka.topics import TopicNames
from hub.partners.commands import (
    add_domain,
    add_organisation,
    organisation_command,
    remove_domain,
    revoke,
)
from hub.partners.desk import (
    OrganisationChange,
    answer_request,
    change_registry,
    requested_organisation,
    requests_in,
)
from hub.partners.registry import (
    AccessDecision,
    Decision,
    InvalidPartnerError,
    Organisation,
    PartnerRegistry,
)
from hub.settings import Settings

EXIT_INVALID = 2
T = TypeVar("T")


def _actor() -> str:
    return os.environ.get("USER", "cli")


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def registry_now(settings: Settings) -> PartnerRegistry:
    topic = TopicNames(settings.kafka.topic_prefix).partners
    await ensure_topics(settings.kafka, [topic], COMPACTED, partitions=1)
    records = await latest_by_key(settings.kafka, topic)
    inner = []
    for key, value in records.items():
        body = (
            value.get("organisation") or value.get("decision") if isinstance(value, dict) else None
        )
        inner.append((key, body))
    return PartnerRegistry.from_records(inner)


class TopicCommands:
    """The partners topic as the CLI writes it: its own producer, acks=all (PartnerCommands)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def write(self, records: Sequence[tuple[bytes, dict[str, Any]]]) -> None:
        topic = TopicNames(self.settings.kafka.topic_prefix).partners
        await ensure_topics(self.settings.kafka, [topic], COMPACTED, partitions=1)
        await send_records(self.settings.kafka, topic, list(records))


def _refused(exc: InvalidPartnerError, where: str = "") -> int:
    for field, message in exc.problems:
        print(f"{where}{field}: {message}", file=sys.stderr)
    return EXIT_INVALID


def _done(work: Coroutine[Any, Any, T], said: Callable[[T], str]) -> int:
    """Run an officer's change; print what was done, or its problems (then nothing is written)."""
    try:
        done = asyncio.run(work)
    except InvalidPartnerError as exc:
        return _refused(exc)
    print(said(done))
    return 0


def _change(settings: Settings, cause: str, change: OrganisationChange) -> int:
    async def run() -> Organisation:
        registry = await registry_now(settings)
        return await change_registry(
            registry, change, cause, _actor(), _now(), TopicCommands(settings)
        )

    return _done(run(), lambda o: f"{cause} {o.id}: {', '.join(sorted(o.domains)) or 'no domain'}")


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    raw = {
        "id": args.id,
        "name": args.name,
        "kind": args.kind,
        "country": args.country,
        "domains": args.domain or [],
    }
    return _change(settings, "registered", lambda r, now: add_organisation(r, raw, now))


def cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    """Register every organisation of a YAML/JSON file (`partners: [...]`); any bad entry,
    named by its index, means nothing is written. Organisations already registered are kept."""
    try:
        data = yaml.safe_load(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    entries = data.get("partners") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        print(f"{args.file}: expected a mapping with a 'partners' list", file=sys.stderr)
        return EXIT_INVALID
    registry = asyncio.run(registry_now(settings))
    now, new, failed = _now(), [], False
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and entry.get("id") in registry.organisations:
            continue
        try:
            organisation = add_organisation(registry, entry if isinstance(entry, dict) else {}, now)
        except InvalidPartnerError as exc:
            failed = True
            _refused(exc, f"{args.file}: partners[{index}].")
            continue
        registry = PartnerRegistry({**registry.organisations, organisation.id: organisation})
        new.append(organisation)
    if failed:
        print(f"{args.file}: nothing registered", file=sys.stderr)
        return EXIT_INVALID
    records = [organisation_command(o, "registered", _actor()) for o in new]
    asyncio.run(TopicCommands(settings).write(records))
    print(f"registered {len(new)} organisation(s) from {args.file}")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    registry = asyncio.run(registry_now(settings))
    found = sorted(registry.organisations.values(), key=lambda o: o.id)
    if args.json:
        print(json.dumps([o.to_dict() for o in found], indent=2, ensure_ascii=False))
        return 0
    for o in found:
        domains = ", ".join(sorted(o.domains)) or "-"
        print(f"{o.id}\t{o.status.value}\t{o.kind.value}\t{o.country or '-'}\t{o.name}\t{domains}")
    return 0


def cmd_domain_add(args: argparse.Namespace, settings: Settings) -> int:
    return _change(
        settings, "domain-added", lambda r, now: add_domain(r, args.id, args.domain, now)
    )


def cmd_domain_remove(args: argparse.Namespace, settings: Settings) -> int:
    return _change(
        settings, "domain-removed", lambda r, now: remove_domain(r, args.id, args.domain, now)
    )


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    return _change(settings, "revoked", lambda r, now: revoke(r, args.id, now))


def _decide(args: argparse.Namespace, settings: Settings, decision: Decision) -> int:
    from hub.cli.subscribers import _current as current_subscribers

    async def run() -> AccessDecision:
        people = {s.id: s for s in await current_subscribers(settings)}
        return await answer_request(
            await registry_now(settings),
            people.get(args.subscriber_id),
            decision,
            getattr(args, "organisation", None),
            args.comment,
            _actor(),
            _now(),
            TopicCommands(settings),
        )

    return _done(run(), lambda made: f"{made.decision.value} {made.subscriber_id}")


def cmd_requests(args: argparse.Namespace, settings: Settings) -> int:
    from hub.cli.subscribers import _current as current_subscribers

    registry = asyncio.run(registry_now(settings))
    for s in requests_in(registry, asyncio.run(current_subscribers(settings)), args.state):
        state = registry.request_state(s)
        assert state is not None  # requests_in keeps only people with a request
        print(f"{s.id}\t{state.value}\t{s.email}\t{requested_organisation(s) or '-'}")
    return 0


def add_commands(commands: Any) -> None:
    partners = commands.add_parser("partners", help="the partner registry and access requests")
    actions = partners.add_subparsers(dest="action", required=True)

    add = actions.add_parser("add", help="register a partner organisation")
    add.add_argument("id", help="a slug, e.g. unhcr")
    add.add_argument("--name", required=True)
    add.add_argument("--kind", required=True, help="government, ngo, un-agency, donor, ...")
    add.add_argument("--country", help="ISO 3166 alpha-2, e.g. SN")
    add.add_argument("--domain", action="append", help="an email domain (repeat for more)")
    add.set_defaults(handler=cmd_add)

    load = actions.add_parser("load", help="register the organisations of a YAML/JSON file")
    load.add_argument("file")
    load.set_defaults(handler=cmd_load)

    listing = actions.add_parser("list", help="the registered organisations")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)

    for name, handler, text in (
        ("domain-add", cmd_domain_add, "add an email domain"),
        ("domain-remove", cmd_domain_remove, "remove an email domain (its people lose access)"),
    ):
        command = actions.add_parser(name, help=text)
        command.add_argument("id")
        command.add_argument("domain")
        command.set_defaults(handler=handler)

    gone = actions.add_parser("revoke", help="revoke an organisation (its people lose access)")
    gone.add_argument("id")
    gone.set_defaults(handler=cmd_revoke)

    requests = actions.add_parser("requests", help="requests for partner access")
    requests.add_argument(
        "--state", default="pending", choices=["pending", "approved", "declined", "all"]
    )
    requests.set_defaults(handler=cmd_requests)

    approve = actions.add_parser("approve", help="grant a person partner access")
    approve.add_argument("subscriber_id")
    approve.add_argument("--organisation", required=True, help="the organisation's id")
    approve.add_argument("--comment", default="")
    approve.set_defaults(handler=lambda a, s: _decide(a, s, Decision.APPROVED))

    decline = actions.add_parser("decline", help="refuse a person partner access")
    decline.add_argument("subscriber_id")
    decline.add_argument("--comment", default="")
    decline.set_defaults(handler=lambda a, s: _decide(a, s, Decision.DECLINED))
