"""What re-driving a dead letter means: the delivery goes back to its channel, fresh. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.model import audit
from hub.model.deliveries import DeadLetter


def delivery_to_resend(
    letter: object, deliveries_topic: str
) -> tuple[str, bytes, dict[str, Any]] | None:
    """The delivery message to send again, with its attempts reset; None if it cannot be read.

    The message inside stays as it is (sealed: only its recipient's id can be read here); the
    dispatcher reads all of it when it comes round again.
    """
    read = DeadLetter.read_or_skip(letter, "redrive")
    delivery = read.delivery if read else None
    recipient = delivery.get("recipient") if isinstance(delivery, dict) else None
    if not isinstance(delivery, dict) or not isinstance(recipient, dict):
        return None
    fresh: dict[str, Any] = {k: v for k, v in delivery.items() if k != "not_before"}
    fresh["attempt"] = 0
    fresh["redriven"] = True
    return deliveries_topic, str(recipient.get("id", "")).encode(), fresh


def redrive_audit(letter: object, actor: str, now: datetime) -> dict[str, Any]:
    read = DeadLetter.read_or_skip(letter, "redrive")
    delivery = read.delivery if read and isinstance(read.delivery, dict) else {}
    return audit.record(
        actor,
        "deadletter.redriven",
        str(delivery.get("id", "")),
        now,
        event_id=delivery.get("event_id", ""),
        previous_reason=read.reason if read else "",
    )
