"""Typed values of the worker's tables that hold more than a plain string."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import JsonValue, field_validator

from hub.model.records import Record


class Embargo(Record):
    """An event held until its embargo is over (table `embargoed`, key: event id)."""

    record_name: ClassVar[str] = "embargo"

    until: str
    topic: str  # where the planner reads it again once released
    document: dict[str, JsonValue]

    @field_validator("until")
    @classmethod
    def _is_a_time(cls, until: str) -> str:
        if datetime.fromisoformat(until).tzinfo is None:
            raise ValueError("a time with its offset from UTC")
        return until

    def over(self, now: datetime) -> bool:
        return datetime.fromisoformat(self.until) <= now
