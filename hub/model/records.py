"""The base of every typed Kafka record: frozen, versioned, JSON on the wire, parsed when read."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, JsonValue, TypeAdapter, ValidationError

from hub.errors import BadRecord, Problem

log = logging.getLogger(__name__)


class Record(BaseModel):
    """One value on a topic or in a table.

    `v` is the record's version; records written before it existed have none and read as 1.
    Unknown fields are ignored, so a record written by a newer hub still reads here.
    """

    # Validators are built at first use, not at import: a worker starts (and restarts) sooner.
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    # Names the record in errors ("bad delivery record: ..."): a dead letter's reason says which.
    record_name: ClassVar[str] = "record"
    # Fields left out of the JSON when they are None, as the hub always wrote them.
    omit_none: ClassVar[bool] = False

    v: int = 1

    @classmethod
    def parse(cls, value: object) -> Self:
        """The record from a decoded JSON value; BadRecord naming every invalid field if not."""
        try:
            return cls.model_validate(value)
        except ValidationError as exc:
            raise bad_record(cls.record_name, exc) from exc

    @classmethod
    def read_or_skip(cls, value: object, where: str) -> Self | None:
        """For a topic without dead letters: the record, or None once logged with the reason."""
        try:
            return cls.parse(value)
        except BadRecord as exc:
            log.error("%s: record skipped: %s", where, exc)
            return None

    def dump(self) -> dict[str, Any]:
        """The JSON value written to Kafka (the shape the hub always wrote, plus `v`)."""
        return self.model_dump(mode="json", exclude_none=self.omit_none)


def as_json(value: object) -> JsonValue:
    """Whatever was read, as JSON a dead letter can keep (its repr if it is not JSON at all)."""
    try:
        return _JSON.validate_python(value)
    except ValidationError:
        return repr(value)


_JSON: TypeAdapter[JsonValue] = TypeAdapter(JsonValue)


def bad_record(name: str, error: ValidationError) -> BadRecord:
    """A pydantic error as a BadRecord: one problem per invalid field, by JSON path."""
    problems = [
        Problem(path=_path(detail["loc"]), message=detail["msg"]) for detail in error.errors()
    ]
    return BadRecord(name, problems)


def _path(loc: tuple[int | str, ...]) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
