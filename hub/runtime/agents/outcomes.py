"""Writing what happened: outcomes for the status, entries for the audit trail, in batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.model import audit
from hub.model.outcomes import Outcome, OutcomeBatch, OutcomeStatus
from hub.runtime.app import Runtime, utc_now

# Outcomes per record: a planned batch of this many is ~150 KB, well under Kafka's 1 MB default.
MAX_BATCH = 500
# Nobody asks the audit trail about these: a plan is not an act, and a duplicate sent nothing.
NOT_AUDITED = frozenset({OutcomeStatus.PLANNED, OutcomeStatus.DUPLICATE})


async def record_outcome(rt: Runtime, outcome: Outcome) -> None:
    """One outcome: see `record_outcomes`."""
    await record_outcomes(rt, [outcome])


async def record_outcomes(rt: Runtime, outcomes: Sequence[Outcome]) -> None:
    """Write outcomes for the status and (but plans and duplicates) to the audit trail: one
    outcomes record and one audit record per event and batch of up to MAX_BATCH."""
    for event_id, chunk in batches(outcomes):
        key = event_id.encode()
        value = (
            chunk[0].dump()
            if len(chunk) == 1
            else OutcomeBatch(event_id=event_id, outcomes=chunk).dump()
        )
        await rt.outcomes.send(key=key, value=value)
        entries = [audit_item(o) for o in chunk if o.status not in NOT_AUDITED]
        if len(entries) == 1:
            await rt.audit.send(key=key, value=single_entry(chunk, entries[0]))
        elif entries:
            await rt.audit.send(key=key, value=audit.batch("hub", event_id, utc_now(), entries))


def batches(outcomes: Sequence[Outcome]) -> list[tuple[str, list[Outcome]]]:
    """The outcomes grouped by event (in the order first met), cut into MAX_BATCH pieces."""
    by_event: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_event.setdefault(outcome.event_id, []).append(outcome)
    return [
        (event_id, items[start : start + MAX_BATCH])
        for event_id, items in by_event.items()
        for start in range(0, len(items), MAX_BATCH)
    ]


def audit_item(outcome: Outcome) -> dict[str, Any]:
    """What the audit trail keeps of one outcome (in a batch entry, or alone)."""
    kind = "delivery" if outcome.delivery_id else "event"
    return {
        "action": f"{kind}.{outcome.status}",
        "subject": outcome.delivery_id or outcome.event_id,
        "recipient_id": outcome.recipient_id,
        "channel": outcome.channel,
        "reason": outcome.reason,
    }


def single_entry(chunk: list[Outcome], item: dict[str, Any]) -> dict[str, Any]:
    """One outcome's audit entry on its own, as the hub always wrote it."""
    details = {k: v for k, v in item.items() if k not in ("action", "subject")}
    return audit.record(
        "hub", item["action"], item["subject"], utc_now(), event_id=chunk[0].event_id, **details
    )
