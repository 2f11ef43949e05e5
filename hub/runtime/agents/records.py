"""Agents that keep state an officer reads: delivery status per event, subscriber records."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from faust.types import StreamT

from hub.delivery import faults
from hub.delivery.status import delivery_states, fold, stuck
from hub.delivery.status_store import scan_local
from hub.delivery.stuck_redrive import redrive_stuck
from hub.model.outcomes import read_outcomes
from hub.partners.commands import access_key
from hub.runtime.agents.guard import ContiguousStream
from hub.runtime.app import Runtime, utc_now
from hub.subscribers.changes import ChangeContext, address_limit, subscriber_change

log = logging.getLogger(__name__)


def register_record_agents(rt: Runtime) -> None:
    app = rt.app
    outcomes = ContiguousStream(rt, "hub.status")

    @app.agent(rt.outcomes, name="hub.status", concurrency=1)
    async def track_status(stream: StreamT[Any]) -> None:
        """Fold outcomes into per-delivery states an officer reads as per-event status."""
        async for message in outcomes.records(stream):
            # No dead letters for outcomes: one that does not read is logged, and the next one.
            batch = read_outcomes(message.value, "status")
            for key, record in fold(batch, rt.status, message.offset):
                rt.status[key] = record
            for _ in batch:  # counted per outcome, however many one record carries
                faults.reached("status.fold")

    redriven: dict[str, Any] = {}

    @app.timer(interval=rt.settings.stuck.check_seconds)  # type: ignore[untyped-decorator]
    async def audit_open_deliveries() -> None:
        """Log deliveries of this worker's partitions stuck without an outcome; re-plan them."""
        try:
            now = utc_now()
            after = timedelta(seconds=rt.settings.stuck.after_seconds)
            found = stuck(delivery_states(scan_local(rt.status)), now, after)
            for state in found:
                log.warning(
                    "delivery %s of event %s (%s to %s) has had no outcome since %s (%s)",
                    state["delivery_id"],
                    state["event_id"],
                    state["channel"],
                    state["recipient_id"],
                    state["at"],
                    state["status"],
                    extra={
                        "event_id": state["event_id"],
                        "delivery_id": state["delivery_id"],
                        "channel": state["channel"],
                    },
                )
            if rt.settings.stuck.redrive:
                # Once per `after` for a delivery, so a slow redrive is not repeated each check.
                due = [
                    s for s in found if now - redriven.get(s["delivery_id"], now - after) >= after
                ]
                count = await redrive_stuck(rt, due, "hub")
                for state in due:
                    redriven[state["delivery_id"]] = now
                if count:
                    log.warning("re-planned %d stuck deliveries through the ledger", count)
        except Exception:  # an exception escaping a timer would stop the whole worker
            log.exception("the audit of open deliveries failed; will try again")

    changes = ContiguousStream(rt, "hub.subscribers")
    context = ChangeContext(rt.directory, address_limit(rt.settings.limits), rt.links, rt.renderer)

    @app.agent(rt.subscriber_commands, name="hub.subscribers", concurrency=1)
    async def apply_subscriber_changes(stream: StreamT[Any]) -> None:
        """Materialise subscriber records on every worker; send what a change calls for."""
        async for key, value in changes.items(stream):
            subscriber_id = key.decode() if isinstance(key, bytes) else str(key)
            change = subscriber_change(subscriber_id, value, context, utc_now())
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
        if rt.event_documents is not None:
            await rt.event_documents.close()
