"""What happened to a delivery, as a value written to the outcomes topic and the ledger."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from hub.routing import Delivery


class OutcomeStatus(StrEnum):
    PLANNED = "planned"
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery_id: str
    event_id: str
    channel: str
    recipient_id: str
    language: str
    status: OutcomeStatus
    attempt: int
    at: str
    reason: str = ""

    @classmethod
    def of(
        cls, delivery: Delivery, status: OutcomeStatus, now: datetime, reason: str = ""
    ) -> Outcome:
        return cls(
            delivery_id=delivery.id,
            event_id=delivery.event_id,
            channel=delivery.channel.value,
            recipient_id=delivery.recipient.id,
            language=delivery.language,
            status=status,
            attempt=delivery.attempt,
            at=now.isoformat(),
            reason=reason,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
