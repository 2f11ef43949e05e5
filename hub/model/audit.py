"""Audit records: who did what, when; written to an append-only topic kept for ever.

The trail outlives the people it mentions, so it names subscribers by id only: an entry never
carries a name, an email address or a chat id, and any email address that slips into a detail
(a provider's refusal quoting it, a rejected record) is replaced before the entry is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field, JsonValue

from hub.errors import BadRecord
from hub.model.records import Record
from hub.privacy.sealing import redact


class AuditEntry(Record):
    """One entry on hub.audit.v1."""

    record_name: ClassVar[str] = "audit"

    at: str
    actor: str
    action: str
    subject: str
    detail: dict[str, JsonValue] = Field(default_factory=dict)


def entry(actor: str, action: str, subject: str, now: datetime, **detail: Any) -> AuditEntry:
    """One audit entry; `action` reads like event.published, delivery.sent, deadletters.redriven."""
    return AuditEntry(
        at=now.isoformat(),
        actor=redact(actor),
        action=action,
        subject=subject,
        detail={name: _scrubbed(value) for name, value in detail.items()},
    )


def record(actor: str, action: str, subject: str, now: datetime, **detail: Any) -> dict[str, Any]:
    """The JSON value of `entry(...)`, as written to the audit topic."""
    return entry(actor, action, subject, now, **detail).dump()


# A batch entry: what happened to many deliveries of one event, in one record (`v` 2).
BATCH_ACTION = "delivery.batch"


def batch(
    actor: str, event_id: str, now: datetime, deliveries: list[dict[str, Any]]
) -> dict[str, Any]:
    """One record for many delivery entries of an event; each of `deliveries` has its `action`,
    `subject` (the delivery id) and the details an entry of its own would have had. Readers see
    the entries one by one again (`expand`)."""
    value = entry(actor, BATCH_ACTION, event_id, now, event_id=event_id, entries=deliveries).dump()
    value["v"] = 2
    return value


def expand(value: object) -> list[Any]:
    """The entries a record of the audit topic stands for: a batch as the entries it holds (as
    if each had been written alone), anything else as it is."""
    if not (isinstance(value, dict) and value.get("action") == BATCH_ACTION):
        return [value]
    detail = value.get("detail")
    if not isinstance(detail, dict) or not isinstance(detail.get("entries"), list):
        return [value]
    items: list[Any] = detail["entries"]
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        details = {k: v for k, v in item.items() if k not in ("action", "subject")}
        entries.append(
            {
                "v": 1,
                "at": value.get("at"),
                "actor": value.get("actor"),
                "action": item.get("action"),
                "subject": item.get("subject"),
                "detail": {"event_id": detail.get("event_id"), **details},
            }
        )
    return entries


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(v) for v in value]
    return value


def concerns(value: object, subscriber_id: str) -> bool:
    """Is this entry about the subscriber (its subject, or the recipient of a delivery)?

    An entry that does not parse concerns nobody it can name; a batch is read entry by entry
    (`expand`), so it concerns nobody as a whole.
    """
    try:
        read = AuditEntry.parse(value)
    except BadRecord:
        return False
    return subscriber_id in (read.subject, read.detail.get("recipient_id"))
