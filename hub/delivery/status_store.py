"""Where the status fold lives: the worker's table, and its changelog for the CLI. No faust here.

The API reads the worker's local copy of the table; `hub status` reads the table's changelog
topic, which holds the same records (compacted, last value per key), so both show the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from hub.kafka.client import read_topic
from hub.settings import Settings

Records = list[tuple[str, dict[str, Any]]]


def status_table_name(topic_prefix: str) -> str:
    return f"{topic_prefix}-delivery-status"


def status_changelog(settings: Settings) -> str:
    """faust keeps a table's changes in <app id>-<table name>-changelog (compacted)."""
    return f"{settings.app_id}-{status_table_name(settings.kafka.topic_prefix)}-changelog"


def scan_local(table: Any, prefix: str = "") -> Records:
    """Records of a faust table on this worker whose key starts with `prefix`.

    A RocksDB-backed table is read with a seek to the prefix in each partition's database (no
    full scan); any other store is iterated whole.
    """
    dbs = getattr(table.data, "_dbs", None)
    if not isinstance(dbs, dict):
        return [(str(k), v) for k, v in table.items() if str(k).startswith(prefix) and v]
    found: Records = []
    # Table keys are stored JSON-encoded ("<key>"): seek to the encoded prefix, quote included.
    start = json.dumps(prefix)[:-1].encode() if prefix else b""
    for db in list(dbs.values()):
        for raw_key, raw_value in _from(db, start):
            if not raw_key.startswith(start):
                break
            key = decode_key(raw_key)
            if raw_value is not None and key is not None and key.startswith(prefix):
                found.append((key, json.loads(raw_value)))
    return found


def decode_key(raw: bytes | None) -> str | None:
    """A table key as stored (JSON-encoded string); None for faust's own bookkeeping keys."""
    if raw is None or raw.startswith(b"__faust"):
        return None
    try:
        key = json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
    return key if isinstance(key, str) else None


def _from(db: Any, start: bytes) -> Iterator[tuple[bytes, bytes | None]]:
    yield from db.items(from_key=start) if start else db.items()


async def read_changelog(settings: Settings, keep: Callable[[str], bool]) -> Records:
    """The status records (last value per key) from the changelog, for keys `keep` accepts."""
    latest: dict[str, dict[str, Any]] = {}
    records = await read_topic(
        settings.kafka,
        status_changelog(settings),
        keep=lambda key: (name := decode_key(key)) is not None and keep(name),
    )
    for key, value in records:
        name = decode_key(key) or ""
        if value is None:
            latest.pop(name, None)
        else:
            latest[name] = value
    return sorted(latest.items())
