"""Who may call the API: the credentials follower, and who published each event."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from faust.types import StreamT

from hub.app import Runtime
from hub.credential_store import follow

PUBLISHED_BY = "hub-published-by"  # the header the API and `hub publish` put on every event


def publisher_of(headers: Mapping[str, Any] | None) -> str | None:
    value = (headers or {}).get(PUBLISHED_BY)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


log = logging.getLogger(__name__)


def register_credential_follower(rt: Runtime) -> None:
    @rt.app.task  # type: ignore[untyped-decorator]
    async def follow_credentials() -> None:
        """Runs on every worker (no consumer group): each needs every credential."""
        try:
            await follow(rt.settings.kafka, rt.names.credentials, rt.credentials)
        except Exception:
            # Stale credentials would keep a revoked token working: stopping the worker is safer.
            log.exception("the credentials follower failed; stopping the worker")
            raise


def register_publisher_records(rt: Runtime) -> None:
    """Remember who published each event, so publishers can read the status of their own."""
    table = rt.publishers
    assert table is not None

    @rt.app.agent(rt.event_topics, name="hub.publishers", concurrency=1)
    async def note_publishers(stream: StreamT[Any]) -> None:
        async for event in stream.events():
            event_id = event.key.decode() if isinstance(event.key, bytes) else str(event.key)
            name = publisher_of(event.headers)
            # The first publisher of an id owns it; a repeat or an embargo release changes nothing.
            if name and table.get(event_id) is None:
                table[event_id] = name
