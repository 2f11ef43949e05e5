"""What happened to a delivery (or to a whole event), as written to the outcomes topic."""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from hub.errors import BadRecord
from hub.model.deliveries import Delivery
from hub.model.records import Record

log = logging.getLogger(__name__)


class OutcomeStatus(StrEnum):
    PLANNED = "planned"
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"
    DUPLICATE = "duplicate"  # a redelivered message the ledger had already seen through
    SKIPPED = "skipped"  # a whole event: no audience, embargoed, already planned


class Outcome(Record):
    """On hub.outcomes.v1 (key: event id); folded into the status table."""

    record_name: ClassVar[str] = "outcome"

    event_id: str
    status: OutcomeStatus
    at: str
    delivery_id: str = ""
    channel: str = ""
    recipient_id: str = ""
    language: str = ""
    attempt: int = 0
    reason: str = ""
    retry_at: str = ""

    @classmethod
    def of(
        cls,
        delivery: Delivery,
        status: OutcomeStatus,
        now: datetime,
        reason: str = "",
        retry_at: datetime | None = None,
    ) -> Outcome:
        return cls(
            event_id=delivery.event_id,
            status=status,
            at=now.isoformat(),
            delivery_id=delivery.id,
            channel=delivery.channel.value,
            recipient_id=delivery.recipient.id,
            language=delivery.language,
            attempt=delivery.attempt,
            reason=reason,
            retry_at=retry_at.isoformat() if retry_at else "",
        )

    @classmethod
    def skipped(cls, event_id: str, now: datetime, reason: str) -> Outcome:
        return cls(
            event_id=event_id, status=OutcomeStatus.SKIPPED, at=now.isoformat(), reason=reason
        )


class OutcomeBatch(Record):
    """Many outcomes of one event in one record on hub.outcomes.v1 (key: event id), `v` 2.

    Records of version 1 are single outcomes (`Outcome`); `read_outcomes` reads either.
    """

    record_name: ClassVar[str] = "outcome batch"

    v: int = 2
    event_id: str
    outcomes: list[Outcome]


def parse_outcomes(value: object) -> list[Outcome]:
    """The outcomes in a record of the outcomes topic, of either version; BadRecord if not."""
    if isinstance(value, dict) and "outcomes" in value:
        return list(OutcomeBatch.parse(value).outcomes)
    return [Outcome.parse(value)]


def read_outcomes(value: object, where: str) -> list[Outcome]:
    """`parse_outcomes`, or [] once logged if the record does not read (no dead letters for
    outcomes)."""
    try:
        return parse_outcomes(value)
    except BadRecord as exc:
        log.error("%s: record skipped: %s", where, exc)
        return []
