"""The task that keeps a worker's API credentials current with the credentials topic."""

from __future__ import annotations

import logging

from hub.app import Runtime
from hub.credential_store import follow

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
