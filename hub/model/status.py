"""Values of the delivery-status table: outcome deltas, delivery states, an event's reasons."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from hub.model.outcomes import Outcome
from hub.model.records import Record

# What a delivery can be waiting for or have come to (a duplicate counts as sent).
STATES = ("planned", "retrying", "sent", "failed")


class DeliveryState(Record):
    """Where one delivery stands, folded from its outcomes (kept under `<event id>/<delivery
    id>` by earlier versions; now merged from the deltas when read)."""

    record_name: ClassVar[str] = "delivery state"

    event_id: str
    delivery_id: str
    channel: str
    language: str
    recipient_id: str
    status: str  # one of STATES
    attempt: int = 0
    retries: int = 0
    reason: str = ""
    at: str
    retry_at: str = ""
    planned_at: str = ""

    @field_validator("status")
    @classmethod
    def _known(cls, status: str) -> str:
        if status not in STATES:
            raise ValueError(f"one of {', '.join(STATES)}")
        return status


class EventReasons(Record):
    """Why an event was not delivered at all (key: event id): embargoed, no audience..."""

    record_name: ClassVar[str] = "event status"

    event_id: str
    skipped: list[str] = Field(default_factory=list)


class StatusDelta(Record):
    """The delivery outcomes of one record of the outcomes topic (key `<event id>/@<offset>`).

    Written once per outcomes record rather than once per delivery: an event's deliveries'
    states are these applied in offset order, over the per-delivery states of older versions.
    """

    record_name: ClassVar[str] = "status delta"

    v: int = 2
    event_id: str
    outcomes: list[Outcome]
