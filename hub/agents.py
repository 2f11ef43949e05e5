"""The Faust agents: thin loops that call the plain-Python planner and dispatcher."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from hub.app import Runtime, utc_now
from hub.outcomes import Outcome, OutcomeStatus
from hub.planning import plan_event

log = logging.getLogger(__name__)


def register_agents(rt: Runtime) -> None:
    """Attach the agents to the runtime's app. concurrency=1: see faust-streaming issue #606."""
    app = rt.app

    @app.agent(rt.event_topics, name="hub.plan", concurrency=1)
    async def plan(stream: AsyncIterator[dict[str, Any]]) -> None:
        """Turn accepted events into deliveries, one per recipient and channel."""
        async for document in stream:
            try:
                result = plan_event(
                    document,
                    rt.subscribers.current(),
                    rt.planned,
                    utc_now(),
                    default_language=rt.settings.default_language,
                )
            except (KeyError, TypeError, ValueError) as exc:
                log.error("unplannable event skipped: %r", exc)
                continue
            if result.skipped_reason:
                log.info("event %s: %s", result.event.id, result.skipped_reason)
                continue
            for delivery in result.deliveries:
                await rt.email_deliveries.send(
                    key=delivery.recipient.id.encode(),
                    value=delivery.as_message(result.event.document),
                )
                planned = Outcome.of(delivery, OutcomeStatus.PLANNED, utc_now())
                await rt.outcomes.send(key=delivery.event_id.encode(), value=planned.as_dict())
            rt.planned[result.event.id] = result.event.fingerprint
            log.info("event %s: %d deliveries planned", result.event.id, len(result.deliveries))

    @app.agent(rt.email_deliveries, name="hub.email", concurrency=1)
    async def send_email(stream: AsyncIterator[dict[str, Any]]) -> None:
        """Send each planned email once, and record what happened."""
        async for message in stream:
            outcome = await rt.dispatcher.dispatch(message)
            await rt.outcomes.send(key=outcome.event_id.encode(), value=outcome.as_dict())

    @app.on_before_shutdown.connect  # consumer already stopped: nothing left to send
    async def close_channels(app: Any, **kwargs: Any) -> None:
        await rt.email.close()
