"""The partner registry agent: materialise organisations and access decisions on every worker."""

from __future__ import annotations

from typing import Any

from faust.types import StreamT

from hub.partners.changes import partner_change
from hub.runtime.agents.guard import ContiguousStream
from hub.runtime.app import Runtime, utc_now


def register_partner_agents(rt: Runtime) -> None:
    changes = ContiguousStream(rt, "hub.partners")

    @rt.app.agent(rt.partner_commands, name="hub.partners", concurrency=1)
    async def apply_partner_changes(stream: StreamT[Any]) -> None:
        """Keep the registry, audit each change, tell people the outcome of their request."""
        async for key, value in changes.items(stream):
            name = key.decode() if isinstance(key, bytes) else str(key)
            # The outcome email's links name the person's language, looked up in the directory.
            links = rt.links.knowing(rt.directory.held)
            change = partner_change(name, value, utc_now(), rt.directory, rt.renderer, links)
            if change is None:
                continue
            if change.remove:
                rt.partner_records.pop(name, None)
            elif change.record is not None:
                rt.partner_records[name] = change.record
            for message in change.emails:
                recipient = str(message["recipient"]["id"]).encode()
                await rt.email.deliveries.send(key=recipient, value=message)
            await rt.audit.send(key=str(change.audit["subject"]).encode(), value=change.audit)
