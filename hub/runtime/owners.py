"""Which worker holds which key: the consumer group's assignment, as faust's assignor knows it.

faust's `app.router.key_store(table, key)` hashes the key as the table stores it; the hub's
tables are written from the partition of the record being processed, whose key is the raw event
id or newsletter name (a table key like "<event id>/<delivery id>" is not what placed it). So the
partition comes from hashing that raw key the way the producer did, and the owner from the
assignor's map of which worker holds which changelog partitions.
"""

from __future__ import annotations

from typing import Any

from yarl import URL

from hub.kafka.partitioning import partition_of
from hub.runtime.app import Runtime
from hub.services import Keyed, OwnerUnknown


def _ident(url: str | URL) -> tuple[str, int]:
    parsed = URL(str(url))
    return (parsed.host or "", parsed.port or 80)


class TableOwners:
    """KeyOwners over the worker's faust app."""

    def __init__(self, rt: Runtime) -> None:
        self.app = rt.app
        self.partitions = rt.settings.kafka.partitions
        self.tables: dict[Keyed, Any] = {
            Keyed.EVENT: rt.status,  # events and outcomes are keyed by event id
            Keyed.NEWSLETTER: rt.newsletter_state,  # newsletter records by newsletter name
        }
        self.me = str(self.app.conf.canonical_url).rstrip("/")

    def owner(self, kind: Keyed, key: str) -> str | None:
        table = self.tables[kind]
        topic = table.changelog_topic.get_topic_name()
        wanted = partition_of(key, self.partitions)
        for url, held in self.app.router.table_metadata(table.name).items():
            if wanted in held.get(topic, ()):
                return None if _ident(url) == _ident(self.me) else str(url).rstrip("/")
        raise OwnerUnknown(f"no worker holds partition {wanted} of {topic} yet")

    def members(self) -> dict[str, list[int]]:
        table = self.tables[Keyed.EVENT]
        topic = table.changelog_topic.get_topic_name()
        found = self.app.router.table_metadata(table.name)
        if not found:
            raise OwnerUnknown("the group has not assigned partitions yet")
        return {str(url).rstrip("/"): sorted(held.get(topic, ())) for url, held in found.items()}
