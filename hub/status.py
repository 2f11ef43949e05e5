"""Per-event delivery status, folded from outcomes: counts per channel and language, failures. Pure.

The fold is idempotent: an outcome read twice, or a `planned` arriving after `sent`, changes
nothing, so the status agent may see outcomes again after a restart.
"""

from __future__ import annotations

import copy
from typing import Any

from hub.outcomes import Outcome, OutcomeStatus

MAX_LISTED_FAILURES = 500
# Current state of a delivery -> the counter it sits in.
BUCKET = {
    OutcomeStatus.PLANNED: "pending",
    OutcomeStatus.RETRYING: "retrying",
    OutcomeStatus.SENT: "sent",
    OutcomeStatus.FAILED: "failed",
}


def empty_status(event_id: str) -> dict[str, Any]:
    return {"event_id": event_id, "skipped": [], "channels": {}, "failures": {}}


def _moves(previous: OutcomeStatus | None, new: OutcomeStatus) -> bool:
    """May a delivery go from `previous` to `new`? Sent is final; planned never overrides."""
    if new not in BUCKET:
        return False
    if previous is None:
        return True
    if previous is OutcomeStatus.SENT or new is OutcomeStatus.PLANNED:
        return False
    return previous is not new or new is OutcomeStatus.RETRYING


def fold(
    status: dict[str, Any] | None,
    delivery_state: dict[str, Any] | None,
    outcome: Outcome,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Apply one outcome: the event's new status, and the delivery's new state (None: unchanged)."""
    result = copy.deepcopy(status) if status else empty_status(outcome.event_id)
    if outcome.status is OutcomeStatus.SKIPPED or not outcome.delivery_id:
        if outcome.reason not in result["skipped"]:
            result["skipped"].append(outcome.reason)
        return result, None
    previous = OutcomeStatus(delivery_state["status"]) if delivery_state else None
    if not _moves(previous, outcome.status):
        return result, None
    seen_retry = delivery_state is not None and outcome.attempt <= int(delivery_state["attempt"])
    if previous is outcome.status is OutcomeStatus.RETRYING and seen_retry:
        return result, None  # the same retry seen again
    counts = (
        result["channels"]
        .setdefault(outcome.channel, {})
        .setdefault(
            outcome.language,
            {"planned": 0, "pending": 0, "retrying": 0, "sent": 0, "failed": 0, "retries": 0},
        )
    )
    if previous is None:
        counts["planned"] += 1
    else:
        counts[BUCKET[previous]] -= 1
    counts[BUCKET[outcome.status]] += 1
    if outcome.status is OutcomeStatus.RETRYING:
        counts["retries"] += 1
    failures: dict[str, Any] = result["failures"]
    if outcome.status is OutcomeStatus.FAILED:
        if len(failures) < MAX_LISTED_FAILURES:
            failures[outcome.delivery_id] = {
                "recipient_id": outcome.recipient_id,
                "channel": outcome.channel,
                "language": outcome.language,
                "reason": outcome.reason,
                "attempts": outcome.attempt + 1,
                "at": outcome.at,
            }
    else:
        failures.pop(outcome.delivery_id, None)
    return result, {"status": outcome.status.value, "attempt": outcome.attempt}


def summary(status: dict[str, Any]) -> dict[str, int]:
    """Totals over every channel and language."""
    totals = {"planned": 0, "pending": 0, "retrying": 0, "sent": 0, "failed": 0, "retries": 0}
    for languages in status["channels"].values():
        for counts in languages.values():
            for key in totals:
                totals[key] += counts[key]
    return totals
