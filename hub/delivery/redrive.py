"""What re-driving a dead letter means: the delivery goes back to its channel, fresh. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.model import audit


def delivery_to_resend(
    letter: dict[str, Any], deliveries_topic: str
) -> tuple[str, bytes, dict[str, Any]] | None:
    """The delivery message to send again, with its attempts reset; None if it cannot be read."""
    delivery = letter.get("delivery")
    if not isinstance(delivery, dict) or not isinstance(delivery.get("recipient"), dict):
        return None
    fresh = {k: v for k, v in delivery.items() if k != "not_before"}
    fresh["attempt"] = 0
    fresh["redriven"] = True
    return deliveries_topic, str(delivery["recipient"].get("id", "")).encode(), fresh


def redrive_audit(letter: dict[str, Any], actor: str, now: datetime) -> dict[str, Any]:
    delivery = letter.get("delivery") if isinstance(letter.get("delivery"), dict) else {}
    assert isinstance(delivery, dict)
    return audit.record(
        actor,
        "deadletter.redriven",
        str(delivery.get("id", "")),
        now,
        event_id=delivery.get("event_id", ""),
        previous_reason=letter.get("reason", ""),
    )
