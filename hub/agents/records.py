"""Agents that keep state an officer reads: delivery status per event, subscriber records."""

from __future__ import annotations

import logging
from typing import Any

from faust.types import StreamT

from hub.app import Runtime, utc_now
from hub.outcomes import Outcome
from hub.partner_commands import access_key
from hub.status import fold
from hub.subscriber_changes import subscriber_change

log = logging.getLogger(__name__)


def register_record_agents(rt: Runtime) -> None:
    app = rt.app

    @app.agent(rt.outcomes, name="hub.status", concurrency=1)
    async def track_status(stream: StreamT[Any]) -> None:
        """Fold outcomes into per-event status an officer can read."""
        async for value in stream:
            try:
                outcome = Outcome.from_dict(value)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("unreadable outcome ignored: %r", exc)
                continue
            state = rt.delivery_states.get(outcome.delivery_id) if outcome.delivery_id else None
            status, new_state = fold(rt.event_status.get(outcome.event_id), state, outcome)
            rt.event_status[outcome.event_id] = status
            if new_state is not None:
                rt.delivery_states[outcome.delivery_id] = new_state

    @app.agent(rt.subscriber_commands, name="hub.subscribers", concurrency=1)
    async def apply_subscriber_changes(stream: StreamT[Any]) -> None:
        """Materialise subscriber records on every worker; send what a change calls for."""
        async for key, value in stream.items():
            subscriber_id = key.decode() if isinstance(key, bytes) else str(key)
            change = subscriber_change(subscriber_id, value, rt, utc_now())
            if change.erase:
                rt.subscriber_records.pop(subscriber_id, None)
                if rt.partner_records.get(access_key(subscriber_id).decode()) is not None:
                    # The officer's decision on their partner request goes with them.
                    await rt.app.producer.send_and_wait(
                        rt.names.partners, access_key(subscriber_id), None, None, None, None
                    )
            elif change.record is not None:
                rt.subscriber_records[subscriber_id] = change.record
            if change.erase or change.record is not None:
                rt.directory.note(subscriber_id, change.record)
            for message in change.emails:
                await rt.email.deliveries.send(key=subscriber_id.encode(), value=message)
            if change.audit is not None:
                await rt.audit.send(key=subscriber_id.encode(), value=change.audit)

    @app.on_before_shutdown.connect  # consumer already stopped: nothing left to send
    async def close_channels(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        for channel in rt.channels.values():
            await channel.channel.close()
