"""Who published each event, kept beside its status so publishers can read their own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.types import StreamT

from hub.runtime.agents.guard import ContiguousStream
from hub.runtime.app import Runtime

PUBLISHED_BY = "hub-published-by"  # the header the API and `hub publish` put on every event


def publisher_of(headers: Mapping[str, Any] | None) -> str | None:
    value = (headers or {}).get(PUBLISHED_BY)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


def register_publisher_records(rt: Runtime) -> None:
    """Remember who published each event, so publishers can read the status of their own."""
    table = rt.publishers
    assert table is not None
    events = ContiguousStream(rt, "hub.publishers")

    @rt.app.agent(rt.event_topics, name="hub.publishers", concurrency=1)
    async def note_publishers(stream: StreamT[Any]) -> None:
        async for event in events.records(stream):
            event_id = event.key.decode() if isinstance(event.key, bytes) else str(event.key)
            name = publisher_of(event.headers)
            # The first publisher of an id owns it; a repeat or an embargo release changes nothing.
            if name and table.get(event_id) is None:
                table[event_id] = name
