"""`hub partners ...`: the partner registry and requests for partner access, from the shell."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from hub.kafka.admin import COMPACTED, ensure_topics
from hub.kafka.client import latest_by_key, send_records
from hub.kafka.topics import TopicNames
from hub.partners.commands import (
    add_domain,
    add_organisation,
    decide,
    decision_command,
    organisation_command,
    remove_domain,
    revoke,
)
from hub.partners.registry import Decision, InvalidPartnerError, Organisation, PartnerRegistry
from hub.settings import Settings

EXIT_INVALID = 2


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


async def _write(settings: Settings, records: list[tuple[bytes, dict[str, Any]]]) -> None:
    topic = TopicNames(settings.kafka.topic_prefix).partners
    await ensure_topics(settings.kafka, [topic], COMPACTED, partitions=1)
    await send_records(settings.kafka, topic, list(records))


def _refused(exc: InvalidPartnerError, where: str = "") -> int:
    for field, message in exc.problems:
        print(f"{where}{field}: {message}", file=sys.stderr)
    return EXIT_INVALID


def _save(settings: Settings, organisation: Organisation, cause: str) -> int:
    asyncio.run(_write(settings, [organisation_command(organisation, cause, _actor())]))
    print(f"{cause} {organisation.id}: {', '.join(sorted(organisation.domains)) or 'no domain'}")
    return 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    raw = {
        "id": args.id,
        "name": args.name,
        "kind": args.kind,
        "country": args.country,
        "domains": args.domain or [],
    }
    try:
        organisation = add_organisation(asyncio.run(registry_now(settings)), raw, _now())
    except InvalidPartnerError as exc:
        return _refused(exc)
    return _save(settings, organisation, "registered")


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
    asyncio.run(_write(settings, [organisation_command(o, "registered", _actor()) for o in new]))
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
    try:
        changed = add_domain(asyncio.run(registry_now(settings)), args.id, args.domain, _now())
    except InvalidPartnerError as exc:
        return _refused(exc)
    return _save(settings, changed, "domain-added")


def cmd_domain_remove(args: argparse.Namespace, settings: Settings) -> int:
    try:
        changed = remove_domain(asyncio.run(registry_now(settings)), args.id, args.domain, _now())
    except InvalidPartnerError as exc:
        return _refused(exc)
    return _save(settings, changed, "domain-removed")


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    try:
        changed = revoke(asyncio.run(registry_now(settings)), args.id, _now())
    except InvalidPartnerError as exc:
        return _refused(exc)
    return _save(settings, changed, "revoked")


def _decide(args: argparse.Namespace, settings: Settings, decision: Decision) -> int:
    from hub.cli.subscribers import _current as current_subscribers

    people = {s.id: s for s in asyncio.run(current_subscribers(settings))}
    try:
        made = decide(
            asyncio.run(registry_now(settings)),
            people.get(args.subscriber_id),
            decision,
            getattr(args, "organisation", None),
            args.comment,
            _actor(),
            _now(),
        )
    except InvalidPartnerError as exc:
        return _refused(exc)
    asyncio.run(_write(settings, [decision_command(made, _actor())]))
    print(f"{made.decision.value} {made.subscriber_id}")
    return 0


def cmd_requests(args: argparse.Namespace, settings: Settings) -> int:
    from hub.cli.subscribers import _current as current_subscribers

    registry = asyncio.run(registry_now(settings))
    for s in asyncio.run(current_subscribers(settings)):
        state = registry.request_state(s)
        if state is None or not s.confirmed or (args.state != "all" and state.value != args.state):
            continue
        organisation = s.partner_request.organisation if s.partner_request else s.organisation
        print(f"{s.id}\t{state.value}\t{s.email}\t{organisation or '-'}")
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
