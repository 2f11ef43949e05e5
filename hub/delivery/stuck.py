"""Re-planning stuck deliveries: which message to send again, and the audit of it. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from hub.model import audit


def latest_messages(
    records: Iterable[Mapping[str, Any] | None], wanted: set[str]
) -> dict[str, dict[str, Any]]:
    """The last message (highest attempt, then the later one) of each wanted delivery id."""
    found: dict[str, dict[str, Any]] = {}
    for value in records:
        if not isinstance(value, Mapping) or value.get("id") not in wanted:
            continue
        delivery_id = str(value["id"])
        known = found.get(delivery_id)
        if known is None or int(value.get("attempt", 0)) >= int(known.get("attempt", 0)):
            found[delivery_id] = dict(value)
    return found


def to_resend(message: Mapping[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """The key and value to put back on the deliveries topic: due now, same attempt."""
    value = {k: v for k, v in message.items() if k != "not_before"}
    value["redriven"] = True
    return str(value["recipient"]["id"]).encode(), value


def redrive_audit(state: Mapping[str, Any], actor: str, now: datetime) -> dict[str, Any]:
    return audit.record(
        actor,
        "delivery.redriven",
        str(state["delivery_id"]),
        now,
        event_id=state["event_id"],
        channel=state["channel"],
        recipient_id=state["recipient_id"],
        previous_status=state["status"],
        since=state["at"],
    )
