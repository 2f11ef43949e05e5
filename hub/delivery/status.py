"""Per-event delivery status as a fold that cannot double-count after a crash. Pure.

Each record of the outcomes topic (one outcome, or a batch of one event's) is kept as one status
delta (key `<event id>/@<offset>`, the record's offset in its partition), so a batch of hundreds
of outcomes costs one status record, not one per delivery. A delivery's state is its outcomes
applied in offset order, last writer wins under two rules: `sent` is final (the ledger never
sends a delivery twice, and a `duplicate` means the ledger had it as sent), and `planned`
never overrides what came after it. Earlier versions kept one state per delivery (key
`<event id>/<delivery id>`): those are the starting point, the deltas apply over them. An
outcomes record read again after a crash writes the same delta under the same key, applying an
outcome twice gives the same state, and counts are derived from the states when read, so they
cannot go negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from hub.model.outcomes import Outcome, OutcomeStatus
from hub.model.status import DeliveryState, EventReasons, StatusDelta

MAX_LISTED_FAILURES = 500
COUNTERS = ("planned", "pending", "retrying", "sent", "failed", "retries")
# Current state of a delivery -> the counter it sits in.
BUCKET = {"planned": "pending", "retrying": "retrying", "sent": "sent", "failed": "failed"}
OPEN = frozenset({"planned", "retrying"})


def delivery_key(event_id: str, delivery_id: str) -> str:
    return f"{event_id}/{delivery_id}"


def event_key(event_id: str) -> str:
    return event_id


def delta_key(event_id: str, position: int) -> str:
    """Zero-padded, so the deltas of an event sort in offset order."""
    return f"{event_id}/@{position:015d}"


def apply(state: Mapping[str, Any] | None, outcome: Outcome) -> dict[str, Any] | None:
    """A delivery's new state after `outcome`; None when the outcome changes nothing.

    A current state that does not read is logged and replaced by what the outcome says.
    """
    current = None if state is None else DeliveryState.read_or_skip(state, "status")
    new = advance(None if current is None else current.dump(), outcome)
    return None if new is None or state == new else new


def advance(current: Mapping[str, Any] | None, outcome: Outcome) -> dict[str, Any] | None:
    """`apply` on a state already read (a DeliveryState's JSON): the new one, or None when the
    outcome changes nothing. Plain dicts: a status read merges every outcome of an event."""
    status = OutcomeStatus.SENT if outcome.status is OutcomeStatus.DUPLICATE else outcome.status
    if status.value not in BUCKET:
        return None
    if current is not None and (current["status"] == "sent" or status is OutcomeStatus.PLANNED):
        return None
    retries = int(current["retries"]) if current else 0
    if status is OutcomeStatus.RETRYING:
        retries = max(retries, outcome.attempt + 1)
    return {
        "v": 1,
        "event_id": outcome.event_id,
        "delivery_id": outcome.delivery_id,
        "channel": outcome.channel,
        "language": outcome.language,
        "recipient_id": outcome.recipient_id,
        "status": status.value,
        "attempt": outcome.attempt,
        "retries": retries,
        "reason": outcome.reason if status is not OutcomeStatus.SENT else "",
        "at": outcome.at,
        "retry_at": outcome.retry_at,
        "planned_at": (current["planned_at"] if current else "") or outcome.at,
    }


def apply_event(record: Mapping[str, Any] | None, outcome: Outcome) -> dict[str, Any] | None:
    """The event-level record (why nothing went out) after a `skipped` outcome; None: unchanged."""
    current = None if record is None else EventReasons.read_or_skip(record, "status")
    skipped = current.skipped if current else []
    if outcome.reason in skipped:
        return None
    return EventReasons(event_id=outcome.event_id, skipped=[*skipped, outcome.reason]).dump()


def fold(
    outcomes: Sequence[Outcome], read: Mapping[str, Any] | Any, position: int
) -> list[tuple[str, dict[str, Any]]]:
    """The records to write for one record of the outcomes topic at `position` (its offset),
    given a mapping-like `read` of the current ones: per event, one delta with its deliveries'
    outcomes, and its reasons record when an outcome says why nothing went out.

    A reasons record that does not change is written again, as each delta is when its outcomes
    record is read again: after a crash the worker's local store can be ahead of the table's
    changelog (written, not yet flushed), and writing it again when the outcome is read again
    brings the changelog (what the CLI and the next owner of the partition read) up to the local
    store before the offset commits.
    """
    writes: list[tuple[str, dict[str, Any]]] = []
    by_event: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_event.setdefault(outcome.event_id, []).append(outcome)
    for event_id, items in by_event.items():
        reasons = [o for o in items if o.status is OutcomeStatus.SKIPPED or not o.delivery_id]
        if reasons:
            key = event_key(event_id)
            record = read.get(key)
            for outcome in reasons:
                record = apply_event(record, outcome) or record
            if record is not None:
                writes.append((key, dict(record)))
        deliveries = [o for o in items if o.delivery_id and _counts(o)]
        if deliveries:
            delta = StatusDelta(event_id=event_id, outcomes=deliveries)
            writes.append((delta_key(event_id, position), delta.dump()))
    return writes


def _counts(outcome: Outcome) -> bool:
    """Does this outcome move a delivery's state (a duplicate counts as sent)?"""
    return outcome.status is OutcomeStatus.DUPLICATE or outcome.status.value in BUCKET


def summarise(
    event_id: str, event_record: Mapping[str, Any] | None, deliveries: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """Counts per channel and language, failures and reasons, from the deliveries' states."""
    channels: dict[str, dict[str, dict[str, int]]] = {}
    failures: list[dict[str, Any]] = []
    states = [DeliveryState.read_or_skip(value, f"status of {event_id}") for value in deliveries]
    for state in sorted((s for s in states if s), key=lambda s: s.delivery_id):
        counts = channels.setdefault(state.channel, {}).setdefault(
            state.language, dict.fromkeys(COUNTERS, 0)
        )
        counts["planned"] += 1
        counts[BUCKET[state.status]] += 1
        counts["retries"] += state.retries
        if state.status == "failed" and len(failures) < MAX_LISTED_FAILURES:
            failures.append(
                {
                    "delivery_id": state.delivery_id,
                    "recipient_id": state.recipient_id,
                    "channel": state.channel,
                    "language": state.language,
                    "reason": state.reason,
                    "attempts": state.attempt + 1,
                    "at": state.at,
                }
            )
    reasons = None if event_record is None else EventReasons.read_or_skip(event_record, "status")
    skipped = reasons.skipped if reasons else []
    return {
        "event_id": event_id,
        "totals": summary(channels),
        "channels": channels,
        "failures": failures,
        "not_delivered": skipped,
    }


def summary(channels: Mapping[str, Mapping[str, Mapping[str, int]]]) -> dict[str, int]:
    """Totals over every channel and language."""
    totals = dict.fromkeys(COUNTERS, 0)
    for languages in channels.values():
        for counts in languages.values():
            for key in totals:
                totals[key] += counts[key]
    return totals


def split(
    records: Iterable[tuple[str, Mapping[str, Any]]], event_id: str
) -> tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]:
    """An event's record and its deliveries' states, from (key, record) pairs of the table."""
    event_record: Mapping[str, Any] | None = None
    earlier: dict[str, Mapping[str, Any]] = {}
    deltas: list[tuple[str, Mapping[str, Any]]] = []
    prefix = f"{event_id}/"
    for key, record in records:
        if key == event_key(event_id):
            event_record = record
        elif key.startswith(f"{prefix}@"):
            deltas.append((key, record))
        elif key.startswith(prefix):
            earlier[key[len(prefix) :]] = record
    if not deltas:
        return event_record, list(earlier.values())
    where = f"status of {event_id}"
    states: dict[str, dict[str, Any] | None] = {}
    for delivery, record in earlier.items():
        read = DeliveryState.read_or_skip(record, where)
        states[delivery] = None if read is None else read.dump()
    for _key, record in sorted(deltas, key=lambda pair: pair[0]):
        delta = StatusDelta.read_or_skip(record, where)
        for outcome in delta.outcomes if delta else ():
            new = advance(states.get(outcome.delivery_id), outcome)
            if new is not None:
                states[outcome.delivery_id] = new
    return event_record, [state for state in states.values() if state is not None]


def delivery_states(records: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Mapping[str, Any]]:
    """Every delivery's state, from (key, record) pairs of the table (of any events)."""
    by_event: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for key, record in records:
        if "/" in key:
            by_event.setdefault(key.split("/", 1)[0], []).append((key, record))
    return [state for event_id, pairs in by_event.items() for state in split(pairs, event_id)[1]]


def is_stuck(state: Mapping[str, Any], now: datetime, after: timedelta) -> bool:
    """Planned or retrying, and no outcome for `after` (a retry: `after` past its due time).

    A state that does not read is logged and left out: a stuck check must not stop on it.
    """
    if state.get("status") not in OPEN:
        return False
    read = DeliveryState.read_or_skip(state, "stuck deliveries")
    if read is None:
        return False
    try:
        since = datetime.fromisoformat(read.retry_at or read.at)
    except ValueError:
        return False
    return now - since >= after


def stuck(
    states: Iterable[Mapping[str, Any]], now: datetime, after: timedelta
) -> list[dict[str, Any]]:
    """The open deliveries with no outcome for too long, oldest first."""
    found = [dict(s) for s in states if "delivery_id" in s and is_stuck(s, now, after)]
    return sorted(found, key=lambda s: str(s.get("retry_at") or s["at"]))
