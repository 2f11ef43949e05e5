"""Writing what happened: outcomes for the status, entries for the audit trail."""

from __future__ import annotations

from collections.abc import Sequence

from hub.model import audit
from hub.model.outcomes import Outcome, OutcomeStatus
from hub.runtime.app import Runtime, utc_now


async def record_outcome(rt: Runtime, outcome: Outcome) -> None:
    """Write an outcome for the status, and (unless a duplicate) to the audit trail."""
    key = outcome.event_id.encode()
    await rt.outcomes.send(key=key, value=outcome.dump())
    if outcome.status is not OutcomeStatus.DUPLICATE:
        entry = audit.record(
            "hub",
            f"delivery.{outcome.status}" if outcome.delivery_id else f"event.{outcome.status}",
            outcome.delivery_id or outcome.event_id,
            utc_now(),
            event_id=outcome.event_id,
            recipient_id=outcome.recipient_id,
            channel=outcome.channel,
            reason=outcome.reason,
        )
        await rt.audit.send(key=key, value=entry)


async def record_outcomes(rt: Runtime, outcomes: Sequence[Outcome]) -> None:
    """Write the outcomes of a batch of deliveries, in order."""
    for outcome in outcomes:
        await record_outcome(rt, outcome)
